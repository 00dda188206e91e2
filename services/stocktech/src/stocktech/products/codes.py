"""Product codes: ``ST`` + 6 digits + a check letter, e.g. ``ST123456A`` (the kit's one scheme
for every module's codes, ``avelar_kit.br.codes``; the same rule is a CHECK constraint in the
database, migration 0001)."""

from __future__ import annotations

import secrets

from avelar_kit.br.codes import ALPHABET as CHECK_ALPHABET
from avelar_kit.br.codes import PRODUCT_CODES

PREFIX = PRODUCT_CODES.prefix
check_letter = PRODUCT_CODES.check_letter
make_code = PRODUCT_CODES.make
normalize_code = PRODUCT_CODES.normalize
is_valid_code = PRODUCT_CODES.is_valid



def random_number() -> int:
    return secrets.randbelow(PRODUCT_CODES.space)


def generate_code() -> str:
    # Through random_number, so that a test can force collisions.
    return make_code(random_number())


__all__ = ["CHECK_ALPHABET", "PREFIX", "check_letter", "generate_code", "is_valid_code",
           "make_code", "normalize_code", "random_number"]
