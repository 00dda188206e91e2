from __future__ import annotations

from fastapi import APIRouter, Request, status

from avadmin.whatsapp.schemas import CodeSentOut, VerifiedOut, VerifyConfirmIn, VerifyStartIn
from avadmin.whatsapp.service import OtpService, VerificationService
from avelar_kit.auth.dependencies import UserPrincipal
from avelar_kit.db.session import SessionDep

router = APIRouter(tags=["whatsapp"])


def otp_service(request: Request) -> OtpService:
    service: OtpService = request.app.state.otp
    return service


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/api/whatsapp/verify/start", status_code=status.HTTP_202_ACCEPTED,
             response_model=CodeSentOut)
async def verify_start(data: VerifyStartIn, principal: UserPrincipal, session: SessionDep,
                       request: Request) -> CodeSentOut:
    """Send a 6-digit code to your WhatsApp (`target: user`) or, for an admin, the company's
    (`target: account`). With `whatsapp`, that number replaces the stored one first. The code
    is valid 10 minutes, 5 tries; a new one can be asked after `resend_in` seconds."""
    sent = await VerificationService(session, otp_service(request)).start(
        principal, data.target, data.whatsapp, client_of(request))
    return CodeSentOut(whatsapp=sent.whatsapp, expires_in=sent.expires_in,
                       resend_in=sent.resend_in)


@router.post("/api/whatsapp/verify/confirm", response_model=VerifiedOut)
async def verify_confirm(data: VerifyConfirmIn, principal: UserPrincipal, session: SessionDep,
                         request: Request) -> VerifiedOut:
    """Confirm the code: the number becomes verified (`whatsapp_verified: true`)."""
    await VerificationService(session, otp_service(request)).confirm(
        principal, data.target, data.code)
    return VerifiedOut(target=data.target, whatsapp_verified=True)
