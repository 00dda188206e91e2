"""Input building blocks shared by AvAdmin's schemas."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)


class InputModel(BaseModel):
    """Unknown fields are refused: a typo in a field name is an error, not a silent no-op."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL text cannot hold U+0000: refused here, naming the field, instead of by the
        # database with a message that cannot say which field it was.
        items = value if isinstance(value, list) else [value]
        if any(isinstance(v, str) and "\x00" in v for v in items):
            raise ValueError("caractere nulo (U+0000) não é permitido")
        return value


class OutputModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def _visible(value: str) -> str:
    # Zero-width and other invisible characters pass a length check and btrim; a name needs at
    # least one letter or digit to be told apart in a list.
    if not any(c.isalnum() for c in value):
        raise ValueError("deve conter letras ou números")
    return value


Name100 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=100),
                    AfterValidator(_visible)]


def _password_policy(value: str) -> str:
    if len(value) < 8:
        raise ValueError("a senha deve ter pelo menos 8 caracteres")
    if len(value) > 128:
        raise ValueError("a senha deve ter no máximo 128 caracteres")
    if not re.search(r"[A-Za-zÀ-ÿ]", value) or not re.search(r"[0-9]", value):
        raise ValueError("a senha deve ter letras e números")
    return value


NewPassword = Annotated[str, AfterValidator(_password_policy)]
# What a login accepts: bounded so that nobody makes us hash a megabyte.
AnyPassword = Annotated[str, StringConstraints(min_length=1, max_length=256)]


_MODULE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{1,49}$")


def _modules(value: list[str]) -> list[str]:
    bad = [m for m in value if not _MODULE_NAME.match(m)]
    if bad:
        raise ValueError(f"nome de módulo inválido: {', '.join(bad)}")
    # Repeats dropped, order kept. Whether each module exists is checked against the registry.
    return list(dict.fromkeys(value))


ModuleList = Annotated[list[str], Field(max_length=20), AfterValidator(_modules)]
