"""Token verification shared by every module (the seed's ``verify_jwt_token``).

AvAdmin signs with EdDSA (Ed25519) and publishes its public keys by kid at
``/.well-known/jwks.json``; every module verifies locally from a cached JWKS. No shared secret
exists, so a module that leaks its configuration cannot mint tokens.
"""

from avelar_kit.auth.dependencies import (
    CurrentPrincipal,
    OptionalPrincipal,
    ServicePrincipal,
    UserPrincipal,
    get_principal,
    require_admin,
    require_module,
)
from avelar_kit.auth.principal import Principal
from avelar_kit.auth.verifier import (
    ALLOWED_ALGORITHMS,
    REQUIRED_CLAIMS,
    JWKSSource,
    LocalJWKS,
    RemoteJWKS,
    TokenError,
    TokenVerifier,
    verify_jwt_token,
)

__all__ = [
    "ALLOWED_ALGORITHMS",
    "REQUIRED_CLAIMS",
    "CurrentPrincipal",
    "JWKSSource",
    "LocalJWKS",
    "OptionalPrincipal",
    "Principal",
    "RemoteJWKS",
    "ServicePrincipal",
    "TokenError",
    "TokenVerifier",
    "UserPrincipal",
    "get_principal",
    "require_admin",
    "require_module",
    "verify_jwt_token",
]
