"""CNPJ (Cadastro Nacional da Pessoa Jurídica), numeric and alphanumeric.

From July 2026 the Receita Federal issues alphanumeric CNPJs: the first 12 positions may be
``[0-9A-Z]``, the last two (check digits) stay numeric. The check-digit rule is the same modulo-11
as before with each character worth ``ord(char) - 48``, so digits keep their value and every
numeric CNPJ ever issued remains valid under the new rule; one code path serves both.
"""

from __future__ import annotations

import re

__all__ = [
    "compute_cnpj_check_digits",
    "format_cnpj",
    "is_valid_cnpj",
    "normalize_cnpj",
]

_MASK_CHARS = str.maketrans("", "", "./- ")
# ASCII classes written out on purpose: \d and str.upper() accept non-ASCII characters (e.g. the
# dotless "ı" upper-cases to "I"), which would turn foreign input into a "valid" CNPJ.
_BASE_RE = re.compile(r"[0-9A-Za-z]{12}")
_CNPJ_RE = re.compile(r"[0-9A-Za-z]{12}[0-9]{2}")

_WEIGHTS_FIRST = (5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)
_WEIGHTS_SECOND = (6, *_WEIGHTS_FIRST)


def _check_digit(chars: str, weights: tuple[int, ...]) -> str:
    total = sum((ord(c) - 48) * w for c, w in zip(chars, weights, strict=True))
    remainder = total % 11
    return "0" if remainder < 2 else str(11 - remainder)


def compute_cnpj_check_digits(base12: str) -> str:
    """Return the two check digits of a 12-character CNPJ base (digits or A-Z, any case)."""
    if not isinstance(base12, str) or not _BASE_RE.fullmatch(base12):
        raise ValueError("CNPJ inválido: a base deve ter 12 caracteres entre 0-9 e A-Z")
    base = base12.upper()
    first = _check_digit(base, _WEIGHTS_FIRST)
    return first + _check_digit(base + first, _WEIGHTS_SECOND)


def normalize_cnpj(value: str) -> str:
    """Return the 14 upper-case characters of a CNPJ given with or without mask.

    Raises ``ValueError`` on wrong length, characters outside ``[0-9A-Z]``, letters in the check
    digits, a repeated numeric sequence or check digits that do not match.
    """
    if not isinstance(value, str):
        raise ValueError("CNPJ inválido: deve ser um texto")
    chars = value.translate(_MASK_CHARS)
    if len(chars) != 14:
        raise ValueError("CNPJ inválido: deve ter 14 caracteres")
    if not _CNPJ_RE.fullmatch(chars):
        raise ValueError(
            "CNPJ inválido: os 12 primeiros caracteres devem ser 0-9 ou A-Z "
            "e os 2 últimos (dígitos verificadores) devem ser números"
        )
    chars = chars.upper()
    # "00000000000000" and friends satisfy the arithmetic but are placeholders, not companies.
    if chars == chars[0] * 14:
        raise ValueError("CNPJ inválido: todos os caracteres são iguais")
    if compute_cnpj_check_digits(chars[:12]) != chars[12:]:
        raise ValueError("CNPJ inválido: dígitos verificadores não conferem")
    return chars


def is_valid_cnpj(value: str) -> bool:
    try:
        normalize_cnpj(value)
    except ValueError:
        return False
    return True


def format_cnpj(value: str) -> str:
    """``"12ABC34501DE35"`` -> ``"12.ABC.345/01DE-35"`` (any accepted input; validated first)."""
    c = normalize_cnpj(value)
    return f"{c[:2]}.{c[2:5]}.{c[5:8]}/{c[8:12]}-{c[12:]}"
