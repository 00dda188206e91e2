"""Brazilian documents and money: CPF, CNPJ (numeric and alphanumeric), WhatsApp, BRL.

Plain functions normalize/validate/format (raising ``ValueError`` with a Portuguese message);
``avelar_kit.br.types`` wraps them as pydantic field types.
"""

from avelar_kit.br.cnpj import (
    compute_cnpj_check_digits,
    format_cnpj,
    is_valid_cnpj,
    normalize_cnpj,
)
from avelar_kit.br.cpf import (
    compute_cpf_check_digits,
    format_cpf,
    is_valid_cpf,
    mask_cpf,
    normalize_cpf,
)
from avelar_kit.br.money import CENT, format_brl, parse_brl_amount, quantize_brl
from avelar_kit.br.phone import (
    format_whatsapp_display,
    normalize_whatsapp,
    whatsapp_wa_me_digits,
)
from avelar_kit.br.types import (
    CNPJ,
    CPF,
    MONEY_MAX_ABS,
    Money,
    MoneyRule,
    NonNegativeMoney,
    PositiveMoney,
    WhatsApp,
)

__all__ = [
    "CENT",
    "CNPJ",
    "CPF",
    "MONEY_MAX_ABS",
    "Money",
    "MoneyRule",
    "NonNegativeMoney",
    "PositiveMoney",
    "WhatsApp",
    "compute_cnpj_check_digits",
    "compute_cpf_check_digits",
    "format_brl",
    "format_cnpj",
    "format_cpf",
    "format_whatsapp_display",
    "is_valid_cnpj",
    "is_valid_cpf",
    "mask_cpf",
    "normalize_cnpj",
    "normalize_cpf",
    "normalize_whatsapp",
    "parse_brl_amount",
    "quantize_brl",
    "whatsapp_wa_me_digits",
]
