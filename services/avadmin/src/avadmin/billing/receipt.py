"""The printable receipt of a paid transaction (HTML, pt-BR: CNPJ with its mask, R$ 1.234,56,
dd/mm/aaaa in Brasília time)."""

from __future__ import annotations

from datetime import datetime
from html import escape

from avadmin.accounts.models import Account
from avadmin.billing.models import BillingMethod, BillingTransaction
from avadmin.plans.models import BillingCycle
from avelar_kit.br.clock import BRT
from avelar_kit.br.cnpj import format_cnpj
from avelar_kit.br.money import format_brl


def br_date(at: datetime | None) -> str:
    return at.astimezone(BRT).strftime("%d/%m/%Y") if at else "—"


def br_datetime(at: datetime | None) -> str:
    return at.astimezone(BRT).strftime("%d/%m/%Y %H:%M") if at else "—"


def render(tx: BillingTransaction, account: Account) -> str:
    method = {BillingMethod.pix: "Pix", BillingMethod.card: "Cartão (assinatura)"}.get(
        tx.method, "—") if tx.method else "—"
    cycle = "anual" if tx.cycle == BillingCycle.yearly else "mensal"
    rows = [
        ("Empresa", escape(account.company_name)),
        ("CNPJ", escape(format_cnpj(account.cnpj))),
        ("Plano", f"{escape(tx.plan.name)} ({cycle})"),
        ("Período", f"{br_date(tx.period_start)} a {br_date(tx.period_end)}"),
        ("Forma de pagamento", method),
        ("Pago em", br_datetime(tx.paid_at)),
        ("Código MercadoPago", escape(tx.mercadopago_id or "—")),
        ("Transação", escape(str(tx.id))),
    ]
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f"""<!doctype html>
<html lang="pt-BR"><head><meta charset="utf-8"><title>Recibo AvelarSys {escape(str(tx.id))}</title>
<style>
body{{font-family:Arial,Helvetica,sans-serif;max-width:42em;margin:2em auto;color:#222}}
h1{{font-size:1.4em;margin-bottom:.2em}} table{{width:100%;border-collapse:collapse}}
th,td{{text-align:left;padding:.45em;border-bottom:1px solid #ddd}} th{{width:14em}}
.total{{font-size:1.6em;margin:1em 0}} @media print{{button{{display:none}}}}
</style></head><body>
<h1>Recibo de pagamento</h1>
<p>AvelarSys — assinatura de software (SaaS)</p>
<p class="total">Valor pago: <strong>{format_brl(tx.amount)}</strong></p>
<table>{body}</table>
<p>Emitido em {br_date(tx.paid_at)}.</p>
<button onclick="window.print()">Imprimir</button>
</body></html>"""
