"""Ed25519 signing keys. Only AvAdmin holds a private key; the others get the public JWKS."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class SigningKey:
    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, pem: bytes) -> SigningKey:
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("signing key must be Ed25519")
        return cls(key)

    @classmethod
    def load_or_create(cls, path: Path) -> SigningKey:
        """Development convenience: keep one key under .avelar/ so tokens survive a restart."""
        if path.exists():
            return cls.from_pem(path.read_bytes())
        key = cls.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        # Several worker processes may start at once: the key is written aside and linked into
        # place, which only one of them can do; the others read the winner's key.
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_bytes(key.pem())
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return cls.from_pem(path.read_bytes())
        finally:
            tmp.unlink(missing_ok=True)
        return key

    def pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    def _x(self) -> str:
        raw = self.public_key.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return _b64u(raw)

    @property
    def kid(self) -> str:
        # RFC 7638 thumbprint: members in lexicographic order, no whitespace.
        canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": self._x()},
                               separators=(",", ":"), sort_keys=True)
        return _b64u(hashlib.sha256(canonical.encode()).digest())

    def public_jwk(self) -> dict[str, str]:
        return {"kty": "OKP", "crv": "Ed25519", "x": self._x(), "kid": self.kid,
                "alg": "EdDSA", "use": "sig"}

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.private_key, algorithm="EdDSA",
                          headers={"kid": self.kid, "typ": "JWT"})


def jwks_document(keys: list[SigningKey]) -> dict[str, list[dict[str, str]]]:
    return {"keys": [k.public_jwk() for k in keys]}


def base_claims(*, issuer: str, audience: str, subject: str, typ: str, ttl: int) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": issuer, "aud": audience, "sub": subject, "typ": typ,
            "iat": now, "exp": now + ttl, "jti": uuid.uuid4().hex}
