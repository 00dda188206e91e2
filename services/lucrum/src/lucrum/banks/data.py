"""Brazilian banks by COMPE code (the 3-digit code on cheques, TEDs and boletos).

Only institutions operating today that a company is likely to hold an account at; closed or
absorbed banks (HSBC 399, Banco Real 356, Citibank retail, Banco Master 243...) are left out so
that nobody opens a new account record against them. Names are the ones customers know.
Source: the COMPE/ISPB participant list published by the Banco Central do Brasil.
"""

from __future__ import annotations

from types import MappingProxyType

_BANKS: tuple[tuple[str, str], ...] = (
    ("001", "Banco do Brasil"),
    ("003", "Banco da Amazônia"),
    ("004", "Banco do Nordeste (BNB)"),
    ("021", "Banestes"),
    ("025", "Banco Alfa"),
    ("033", "Santander"),
    ("037", "Banpará"),
    ("041", "Banrisul"),
    ("047", "Banese"),
    ("069", "Banco Crefisa"),
    ("070", "BRB - Banco de Brasília"),
    ("074", "Banco J. Safra"),
    ("077", "Banco Inter"),
    ("085", "Ailos"),
    ("104", "Caixa Econômica Federal"),
    ("121", "Agibank"),
    ("133", "Cresol"),
    ("136", "Unicred"),
    ("197", "Stone"),
    ("208", "BTG Pactual"),
    ("212", "Banco Original"),
    ("218", "Banco BS2"),
    ("224", "Banco Fibra"),
    ("237", "Bradesco"),
    ("246", "Banco ABC Brasil"),
    ("260", "Nu Pagamentos (Nubank)"),
    ("290", "PagSeguro (PagBank)"),
    ("318", "Banco BMG"),
    ("323", "Mercado Pago"),
    ("336", "C6 Bank"),
    ("341", "Itaú Unibanco"),
    ("348", "Banco XP"),
    ("364", "Efí (Gerencianet)"),
    ("380", "PicPay"),
    ("389", "Banco Mercantil do Brasil"),
    ("403", "Cora"),
    ("422", "Banco Safra"),
    ("461", "Asaas"),
    ("536", "Neon Pagamentos"),
    ("623", "Banco Pan"),
    ("633", "Banco Rendimento"),
    ("637", "Banco Sofisa"),
    ("643", "Banco Pine"),
    ("655", "Banco Votorantim (BV)"),
    ("707", "Banco Daycoval"),
    ("739", "Banco Cetelem"),
    ("745", "Banco Citibank"),
    ("748", "Sicredi"),
    ("752", "BNP Paribas Brasil"),
    ("756", "Sicoob"),
)

BANKS: MappingProxyType[str, str] = MappingProxyType(dict(_BANKS))


def bank_name(code: str) -> str | None:
    return BANKS.get(code)


def bank_label(code: str) -> str:
    """``"341 - Itaú Unibanco"``, the way Brazilian bank screens show it."""
    name = BANKS.get(code)
    return f"{code} - {name}" if name else code
