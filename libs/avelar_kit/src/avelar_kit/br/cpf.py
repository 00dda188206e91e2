"""CPF (Cadastro de Pessoas Físicas): normalization, validation, formatting and masking.

Everything is stored and compared as the 11 bare digits; the mask is only for display. Error
messages carry the reason but never the value itself, so a rejected CPF does not end up in logs.
"""

from __future__ import annotations

import re

__all__ = [
    "compute_cpf_check_digits",
    "format_cpf",
    "is_valid_cpf",
    "mask_cpf",
    "normalize_cpf",
]

# Only the characters of the usual mask are dropped; anything else (letters, "/", unicode digits)
# makes the input invalid instead of being silently ignored.
_MASK_CHARS = str.maketrans("", "", ".- ")
# [0-9] and not \d: \d also matches non-ASCII digits such as "٣", which int() would accept.
_BASE_RE = re.compile(r"[0-9]{9}")
_CPF_RE = re.compile(r"[0-9]{11}")


def _check_digit(digits: str) -> str:
    # Weights go from len+1 down to 2 (10..2 for the first DV, 11..2 for the second).
    total = sum(int(d) * w for d, w in zip(digits, range(len(digits) + 1, 1, -1), strict=True))
    remainder = total % 11
    return "0" if remainder < 2 else str(11 - remainder)


def compute_cpf_check_digits(base9: str) -> str:
    """Return the two check digits of a 9-digit CPF base."""
    if not isinstance(base9, str) or not _BASE_RE.fullmatch(base9):
        raise ValueError("CPF inválido: a base deve ter 9 dígitos")
    first = _check_digit(base9)
    return first + _check_digit(base9 + first)


def normalize_cpf(value: str) -> str:
    """Return the 11 digits of a CPF given with or without mask; ``ValueError`` if invalid."""
    if not isinstance(value, str):
        raise ValueError("CPF inválido: deve ser um texto")
    digits = value.translate(_MASK_CHARS)
    if not _CPF_RE.fullmatch(digits):
        raise ValueError("CPF inválido: deve ter 11 dígitos")
    # Repeated digits pass the check-digit arithmetic but are not issued CPFs.
    if digits == digits[0] * 11:
        raise ValueError("CPF inválido: todos os dígitos são iguais")
    if compute_cpf_check_digits(digits[:9]) != digits[9:]:
        raise ValueError("CPF inválido: dígitos verificadores não conferem")
    return digits


def is_valid_cpf(value: str) -> bool:
    try:
        normalize_cpf(value)
    except ValueError:
        return False
    return True


def format_cpf(digits: str) -> str:
    """``"52998224725"`` -> ``"529.982.247-25"`` (any accepted input; validated first)."""
    d = normalize_cpf(digits)
    return f"{d[:3]}.{d[3:6]}.{d[6:9]}-{d[9:]}"


def mask_cpf(digits: str) -> str:
    """``"52998224725"`` -> ``"***.982.247-**"``: enough to recognise a CPF, not to reuse it.

    Hides the same positions as the masking the federal government uses in public listings.
    """
    d = normalize_cpf(digits)
    return f"***.{d[3:6]}.{d[6:9]}-**"
