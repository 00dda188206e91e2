from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import Response
from pydantic import ValidationError

from avadmin.accounts.schemas import AccountOut
from avadmin.auth.schemas import (
    ChangeRequiredPasswordIn,
    CodeRequestedOut,
    ForgotPasswordIn,
    LoginIn,
    OperatorLoginIn,
    RefreshIn,
    ResetPasswordIn,
    ServiceTokenIn,
    ServiceTokenOut,
    SignupConfirmIn,
    SignupIn,
    SignupOut,
    SignupPendingOut,
    TokenPair,
)
from avadmin.auth.service import AuthService
from avadmin.users.schemas import UserOut
from avelar_kit.auth.caller import PUBLIC
from avelar_kit.db.session import SystemSessionDep
from avelar_kit.errors import BadRequest, Unprocessable

# Public on purpose: these routes authenticate by what their body carries (CPF and password, a
# refresh token, client credentials), never by a bearer token.
router = APIRouter(tags=["auth"])


def client_address(request: Request) -> str:
    """The client's address as uvicorn saw it (X-Forwarded-For only from trusted proxies)."""
    return request.client.host if request.client else "unknown"


async def get_auth_service(request: Request) -> AuthService:
    service: AuthService = request.app.state.auth_service
    return service


AuthServiceDep = Annotated[AuthService, Depends(get_auth_service)]


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/api/auth/signup", dependencies=[PUBLIC], status_code=status.HTTP_202_ACCEPTED,
             response_model=SignupPendingOut)
async def signup(data: SignupIn, session: SystemSessionDep, auth: AuthServiceDep,
                 request: Request) -> SignupPendingOut:
    """Step 1 of signing up a company and its first admin: a 6-digit code goes to the admin's
    WhatsApp (valid 10 minutes). Nothing is created yet; confirm with
    `POST /api/auth/signup/confirm`. The answer is the same for every well-formed request."""
    pending = await auth.signup(session, data, _client(request))
    return SignupPendingOut(signup_id=pending.signup_id, whatsapp=pending.whatsapp,
                            expires_in=pending.expires_in, resend_in=pending.resend_in)


@router.post("/api/auth/signup/confirm", dependencies=[PUBLIC],
             status_code=status.HTTP_201_CREATED,
             response_model=SignupOut)
async def signup_confirm(data: SignupConfirmIn, session: SystemSessionDep,
                         auth: AuthServiceDep) -> SignupOut:
    """Step 2: the code creates the company (modules from the plan) and its admin, both
    WhatsApp numbers verified, and returns the admin's tokens."""
    result = await auth.confirm_signup(session, data.signup_id, data.code)
    return SignupOut(
        **result.tokens.model_dump(),
        account=AccountOut.model_validate(result.account),
        user=UserOut.model_validate(result.user),
    )


@router.post("/api/auth/password/forgot", dependencies=[PUBLIC],
             status_code=status.HTTP_202_ACCEPTED,
             response_model=CodeRequestedOut)
async def forgot_password(data: ForgotPasswordIn, session: SystemSessionDep, auth: AuthServiceDep,
                          request: Request) -> CodeRequestedOut:
    """Forgot the password: a code goes to the user's verified WhatsApp. Same answer for an
    unknown CPF."""
    sent = await auth.forgot_password(session, data.cpf, _client(request))
    return CodeRequestedOut(expires_in=sent.expires_in, resend_in=sent.resend_in)


@router.post("/api/auth/password/reset", dependencies=[PUBLIC],
             status_code=status.HTTP_204_NO_CONTENT)
async def reset_password(data: ResetPasswordIn, session: SystemSessionDep,
                         auth: AuthServiceDep, request: Request) -> Response:
    """Set a new password with the code. Every session and refresh token of the user ends, in
    every module, and the login throttle of the CPF starts again."""
    await auth.reset_password(session, data.cpf, data.code, data.new_password,
                              _client(request))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/api/auth/password/change", dependencies=[PUBLIC],
             response_model=TokenPair)
async def change_required_password(data: ChangeRequiredPasswordIn, session: SystemSessionDep,
                                   auth: AuthServiceDep, request: Request) -> TokenPair:
    """After an admin reset your password: log in with the temporary one and choose yours."""
    return await auth.change_required_password(session, data.cpf, data.current_password,
                                               data.new_password, _client(request))


@router.post("/api/auth/login", dependencies=[PUBLIC], response_model=TokenPair)
async def login(data: LoginIn, request: Request, session: SystemSessionDep,
                auth: AuthServiceDep) -> TokenPair:
    """Log in with CPF and password. An unknown CPF and a wrong password get the same answer;
    after 5 failures on one CPF from one client address that client gets 429 with Retry-After
    on that CPF (others, the owner included, are only slowed down past a much higher CPF-wide
    count); a successful login resets the counts."""
    return await auth.login(session, data.cpf, data.password, client=client_address(request))


@router.post("/api/auth/refresh", dependencies=[PUBLIC], response_model=TokenPair)
async def refresh(data: RefreshIn, auth: AuthServiceDep) -> TokenPair:
    """Exchange a refresh token for a new pair. Each refresh token works once; replaying a used
    one revokes every token of that session."""
    return await auth.refresh(data.refresh_token)


@router.post("/api/auth/logout", dependencies=[PUBLIC], status_code=status.HTTP_204_NO_CONTENT)
async def logout(data: RefreshIn, session: SystemSessionDep, auth: AuthServiceDep) -> Response:
    """End the session that the refresh token belongs to."""
    await auth.logout(session, data.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def _client_credentials(request: Request) -> ServiceTokenIn:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw: dict[str, Any]
    try:
        if ctype == "application/x-www-form-urlencoded":
            raw = dict((await request.form()).items())
        elif ctype in ("application/json", ""):
            body = await request.json()
            if not isinstance(body, dict):
                raise BadRequest("O corpo deve ser um objeto JSON", code="invalid_body")
            raw = body
        else:
            raise BadRequest("Use JSON ou application/x-www-form-urlencoded",
                             code="unsupported_media_type")
    except (ValueError, RecursionError) as exc:
        # RecursionError: JSON nested thousands deep blows the decoder's stack.
        raise BadRequest("Corpo da requisição ilegível", code="invalid_body") from exc
    try:
        return ServiceTokenIn.model_validate(raw)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
        raise Unprocessable(f"Dados inválidos em: {', '.join(fields)}",
                            code="validation_error") from exc


@router.post("/api/auth/service-token", dependencies=[PUBLIC], response_model=ServiceTokenOut,
             openapi_extra={"requestBody": {"content": {
                 "application/json": {"schema": ServiceTokenIn.model_json_schema()},
                 "application/x-www-form-urlencoded": {
                     "schema": ServiceTokenIn.model_json_schema()}}}})
async def service_token(request: Request, session: SystemSessionDep,
                        auth: AuthServiceDep) -> ServiceTokenOut:
    """Client credentials for the other modules: a token with scope `internal` for the
    internal API."""
    creds = await _client_credentials(request)
    token, ttl = await auth.service_token(session, creds.client_id, creds.client_secret)
    return ServiceTokenOut(access_token=token, expires_in=ttl)


@router.post("/api/operator/login", dependencies=[PUBLIC], response_model=ServiceTokenOut,
             tags=["operators"])
async def operator_login(data: OperatorLoginIn, request: Request, session: SystemSessionDep,
                         auth: AuthServiceDep) -> ServiceTokenOut:
    """Log in as a platform operator (SaaS staff)."""
    token, ttl = await auth.operator_login(session, data.email, data.password,
                                           client=client_address(request))
    return ServiceTokenOut(access_token=token, expires_in=ttl, scope="operator")
