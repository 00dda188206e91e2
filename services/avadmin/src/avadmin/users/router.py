from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, status
from fastapi.responses import Response

from avadmin.audit.models import AuditLog
from avadmin.dependencies import ReaderPrincipal
from avadmin.permissions import (
    CanActivateUser,
    CanCreateUser,
    CanDeactivateUser,
    CanResetPassword,
)
from avadmin.security.passwords import hash_password
from avadmin.security.scopes import minimised
from avadmin.users.repository import internal_user_row
from avadmin.users.schemas import (
    AcceptedOut,
    AdminPasswordReset,
    InternalUserOut,
    PasswordChange,
    UserCreate,
    UserOut,
    UserUpdate,
)
from avadmin.users.service import UserService
from avadmin.whatsapp.limits import limit_key
from avelar_kit.audit import AUDITED, record_audit
from avelar_kit.auth.dependencies import UserPrincipal
from avelar_kit.auth.principal import Principal
from avelar_kit.db.session import SessionDep
from avelar_kit.db.tenancy import act_as_system
from avelar_kit.errors import TooManyRequests
from avelar_kit.lean import LeanRead

router = APIRouter(tags=["users"])


@router.get("/api/users/me", response_model=UserOut)
async def me(principal: UserPrincipal, session: SessionDep) -> UserOut:
    """The logged-in user."""
    assert principal.user_id is not None
    user = await UserService(session).get_visible(principal, principal.user_id)
    return UserOut.model_validate(user)


@router.post("/api/users/me/password", status_code=status.HTTP_204_NO_CONTENT)
async def change_password(data: PasswordChange, principal: UserPrincipal,
                          session: SessionDep) -> Response:
    """Change one's own password. Every other session of the user ends."""
    await UserService(session).change_password(principal, data.current_password,
                                               data.new_password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/api/users/{user_id}", response_model=InternalUserOut)
async def get_user(user_id: uuid.UUID, principal: ReaderPrincipal,
                   session: SessionDep) -> InternalUserOut:
    """Internal API (the seed's fields). A service token reads any user; a user token only
    users of its own company."""
    user = await UserService(session).get_visible(principal, user_id)
    out = InternalUserOut.model_validate(user, from_attributes=True)
    return InternalUserOut.model_validate(minimised(principal, "user", out.model_dump()))


async def get_user_lean(read: LeanRead) -> bytes | None:
    """``get_user``'s answer to a service, as a lean read (ADR 0023; registered by
    ``avadmin.main``): one statement, the same fields and the same minimisation; an unknown
    id is declined, and the route gives its 404."""
    async with read.system_connection() as conn:
        row = await internal_user_row(conn, read.id)
    if row is None:
        return None
    out = minimised(read.principal, "user", dict(row))
    return InternalUserOut.model_validate(out).model_dump_json().encode()


@router.get("/api/accounts/{account_id}/users", response_model=list[UserOut])
async def list_users(account_id: uuid.UUID, principal: ReaderPrincipal,
                     session: SessionDep) -> list[UserOut]:
    """Users of a company."""
    users = await UserService(session).list_for_account(principal, account_id)
    return [UserOut.model_validate(minimised(principal, "user",
                                             UserOut.model_validate(u).model_dump()))
            for u in users]


@router.post("/api/accounts/{account_id}/users", response_model=UserOut,
             status_code=status.HTTP_201_CREATED)
async def create_user(account_id: uuid.UUID, data: UserCreate, admin: CanCreateUser,
                      session: SessionDep, request: Request) -> UserOut:
    """Add a user to the company (admins only), within the plan's max_users. A CPF already
    registered anywhere gets a generic refusal (`422 user_not_created`), recorded, and after a
    few of them `429`."""
    state = request.app.state

    async def refused(principal: Principal, target: uuid.UUID) -> None:
        async with state.db.sessionmaker() as s, s.begin():
            await act_as_system(s)  # the platform's work across companies
            record_audit(s, AuditLog, actor=f"user:{principal.user_id}",
                         action="user.create_refused", account_id=target,
                         details={"reason": "cpf_registered"})
        settings = state.settings
        retry = await state.limiter.hit(limit_key("user-create-refused", str(principal.user_id)),
                                        settings.user_create_refusals_per_window,
                                        settings.otp_limit_window_seconds)
        if retry is not None:
            raise TooManyRequests("Muitas tentativas recusadas. Aguarde e tente novamente.",
                                  code="user_create_throttled", retry_after=retry)

    user = await UserService(session).create(admin, account_id, data, refused)
    return UserOut.model_validate(user)


@router.post("/api/users/password-reset", status_code=status.HTTP_202_ACCEPTED,
             response_model=AcceptedOut)
async def admin_password_reset(data: AdminPasswordReset, admin: CanResetPassword,
                               session: SessionDep) -> AcceptedOut:
    """An admin sets a temporary password for a user of the company (by CPF): the user's
    sessions end in every module and the next login must choose a new password
    (`POST /api/auth/password/change`). The same answer for any CPF."""
    await UserService(session).admin_reset_password(admin, data.cpf,
                                                    await hash_password(data.temporary_password))
    return AcceptedOut()


# AUDITED: an admin editing a coworker or a role is checked by the service (it depends on the
# data), so the route walk of the audit test learns from the marker that it is audited.
@router.patch("/api/users/{user_id}", response_model=UserOut, dependencies=[AUDITED])
async def update_user(user_id: uuid.UUID, data: UserUpdate, principal: UserPrincipal,
                      session: SessionDep) -> UserOut:
    """Edit a user: admins edit anyone of the company; a user edits its own name and WhatsApp."""
    user = await UserService(session).update(principal, user_id, data)
    return UserOut.model_validate(user)


@router.post("/api/users/{user_id}/deactivate", response_model=UserOut)
async def deactivate_user(user_id: uuid.UUID, admin: CanDeactivateUser,
                          session: SessionDep) -> UserOut:
    """Deactivate a user: their sessions end and the other modules learn it by event."""
    user = await UserService(session).deactivate(admin, user_id)
    return UserOut.model_validate(user)


@router.post("/api/users/{user_id}/activate", response_model=UserOut)
async def activate_user(user_id: uuid.UUID, admin: CanActivateUser,
                        session: SessionDep) -> UserOut:
    """Reactivate a user, within the plan's max_users."""
    user = await UserService(session).activate(admin, user_id)
    return UserOut.model_validate(user)
