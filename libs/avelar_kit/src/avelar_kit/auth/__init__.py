"""Token verification and the caller, shared by every module (the seed's ``verify_jwt_token``
is ``TokenVerifier.verify``, called by ``get_caller`` on every authenticated request).

AvAdmin signs with EdDSA (Ed25519) and publishes its public keys by kid at
``/.well-known/jwks.json``; every module verifies locally from a cached JWKS. No shared secret
exists, so a module that leaks its configuration cannot mint tokens.
"""

from avelar_kit.auth.caller import (
    PUBLIC,
    Caller,
    CurrentCaller,
    OperatorId,
    ServiceCaller,
    UserCaller,
    get_caller,
)
from avelar_kit.auth.dependencies import (
    AdminPrincipal,
    CurrentPrincipal,
    ServicePrincipal,
    UserPrincipal,
    get_principal,
    require_admin,
)
from avelar_kit.auth.permissions import ADMINS, EVERYONE, Permissions, require
from avelar_kit.auth.principal import Principal
from avelar_kit.auth.verifier import (
    ALLOWED_ALGORITHMS,
    REQUIRED_CLAIMS,
    JWKSSource,
    LocalJWKS,
    RemoteJWKS,
    TokenError,
    TokenVerifier,
)

__all__ = [
    "ADMINS",
    "ALLOWED_ALGORITHMS",
    "EVERYONE",
    "PUBLIC",
    "REQUIRED_CLAIMS",
    "AdminPrincipal",
    "Caller",
    "CurrentCaller",
    "CurrentPrincipal",
    "JWKSSource",
    "LocalJWKS",
    "OperatorId",
    "Permissions",
    "Principal",
    "RemoteJWKS",
    "ServiceCaller",
    "ServicePrincipal",
    "TokenError",
    "TokenVerifier",
    "UserCaller",
    "UserPrincipal",
    "get_caller",
    "get_principal",
    "require",
    "require_admin",
]
