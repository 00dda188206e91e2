from __future__ import annotations

import json
from pathlib import Path

from avadmin.config import Settings
from avelar_kit.auth.signing import SigningKey


class KeyRing:
    """The current signing key plus public keys still accepted during a rotation."""

    def __init__(self, current: SigningKey, previous_jwks: list[dict[str, str]] | None = None):
        self.current = current
        self.previous = previous_jwks or []
        self._jwks: tuple[SigningKey, dict[str, list[dict[str, str]]]] | None = None
        self._jwks_json: tuple[SigningKey, bytes] | None = None

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """Computed once (deriving the public keys costs more than serving them)."""
        cached = self._jwks
        if cached is None or cached[0] is not self.current:
            keys = [self.current.public_jwk()]
            keys += [k for k in self.previous if k.get("kid") != self.current.kid]
            cached = self._jwks = (self.current, {"keys": keys})
        return cached[1]

    def jwks_json(self) -> bytes:
        """The JWKS as the route serves it (compact JSON), serialised once per key."""
        cached = self._jwks_json
        if cached is None or cached[0] is not self.current:
            body = json.dumps(self.jwks(), ensure_ascii=False, separators=(",", ":")).encode()
            cached = self._jwks_json = (self.current, body)
        return cached[1]


def load_keyring(settings: Settings) -> KeyRing:
    if settings.signing_key_pem:
        key = SigningKey.from_pem(settings.signing_key_pem.encode())
    elif settings.signing_key_file:
        key = SigningKey.load_or_create(Path(settings.signing_key_file))
    else:
        raise RuntimeError(
            "AvAdmin needs a signing key: set AVADMIN_SIGNING_KEY_FILE or AVADMIN_SIGNING_KEY_PEM"
        )
    previous: list[dict[str, str]] = []
    if settings.previous_jwks_file and Path(settings.previous_jwks_file).exists():
        previous = json.loads(Path(settings.previous_jwks_file).read_text()).get("keys", [])
    return KeyRing(key, previous)
