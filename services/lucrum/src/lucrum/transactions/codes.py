"""Financial transaction codes: ``LC`` + 8 digits + a check letter (``LC12345678Q``), the kit's
one scheme for every module's codes (``avelar_kit.br.codes``); the same rule is a CHECK
constraint in the database (migration 0002). A collision (1 in 10^8 per pair) is retried with a
new code (see ``transactions.service``)."""

from __future__ import annotations

from collections.abc import Callable

from avelar_kit.br.codes import ENTRY_CODES

PREFIX = ENTRY_CODES.prefix
check_letter = ENTRY_CODES.check_letter
make_code = ENTRY_CODES.make
random_code = ENTRY_CODES.random
normalize_code = ENTRY_CODES.normalize
is_valid_code = ENTRY_CODES.is_valid

# Indirection so tests can squeeze the code space and force collisions.
CodeGenerator = Callable[[], str]

__all__ = ["PREFIX", "CodeGenerator", "check_letter", "is_valid_code", "make_code",
           "normalize_code", "random_code"]
