from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: an end user of a company (``kind="user"``) or another module
    (``kind="service"``, authenticated by client credentials)."""

    kind: Literal["user", "service"]
    subject: str
    token_id: str
    user_id: uuid.UUID | None = None
    account_id: uuid.UUID | None = None
    role: str | None = None
    enabled_modules: tuple[str, ...] = ()
    scopes: frozenset[str] = field(default_factory=frozenset)
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_service(self) -> bool:
        return self.kind == "service"

    @property
    def is_admin(self) -> bool:
        return self.kind == "user" and self.role == "admin"

    def require_user(self) -> tuple[uuid.UUID, uuid.UUID]:
        assert self.user_id is not None and self.account_id is not None
        return self.user_id, self.account_id

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Principal:
        typ = claims["typ"]
        scopes = frozenset(str(claims.get("scope", "")).split())
        if typ == "service":
            return cls(kind="service", subject=str(claims["sub"]), token_id=str(claims["jti"]),
                       scopes=scopes, claims=claims)
        modules = claims["enabled_modules"]
        return cls(
            kind="user",
            subject=str(claims["sub"]),
            token_id=str(claims["jti"]),
            user_id=uuid.UUID(str(claims["user_id"])),
            account_id=uuid.UUID(str(claims["account_id"])),
            role=str(claims["role"]),
            enabled_modules=tuple(str(m) for m in modules),
            scopes=scopes,
            claims=claims,
        )
