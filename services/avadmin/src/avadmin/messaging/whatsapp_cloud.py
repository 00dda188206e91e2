"""WhatsApp Cloud API adapter (Meta Graph API) over httpx.

``POST {base}/{version}/{phone_number_id}/messages`` with a bearer token and
``{"messaging_product": "whatsapp", "recipient_type": "individual", "to": <digits>,
"type": "template", "template": {"name", "language": {"code"}, "components"}}``; the answer
carries ``messages[0].id``. Errors come as ``{"error": {"code", "message", "error_data":
{"details"}, "fbtrace_id"}}``: rate limits (130429, 131056, 80007), temporary failures (1, 2,
131000, 131016) and HTTP 429/5xx are retried; anything else (bad number, unknown template,
bad token) is not.
"""

from __future__ import annotations

from typing import Any

import httpx

from avadmin.messaging.port import DeliveryError, TemplateMessage

RETRYABLE_CODES = frozenset({1, 2, 4, 80007, 130429, 131000, 131016, 131056, 133004})


class WhatsAppCloudAdapter:
    def __init__(self, *, base_url: str, version: str, phone_number_id: str, access_token: str,
                 timeout: float = 5.0, transport: httpx.AsyncBaseTransport | None = None
                 ) -> None:
        self.path = f"/{version.strip('/')}/{phone_number_id}/messages"
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), timeout=timeout, transport=transport,
            headers={"Authorization": f"Bearer {access_token}"})

    @staticmethod
    def payload(to_e164: str, message: TemplateMessage) -> dict[str, Any]:
        return {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to_e164.lstrip("+"),
            "type": "template",
            "template": {"name": message.name, "language": {"code": message.language},
                         "components": message.components},
        }

    async def send_template(self, to_e164: str, message: TemplateMessage) -> str:
        try:
            resp = await self._client.post(self.path, json=self.payload(to_e164, message))
        except httpx.HTTPError as exc:
            raise DeliveryError(f"transport: {type(exc).__name__}", retryable=True) from exc
        try:
            body = resp.json()
        except ValueError:
            body = None
        if resp.status_code == 200 and isinstance(body, dict):
            msgs = body.get("messages")
            if isinstance(msgs, list) and msgs and isinstance(msgs[0], dict) and msgs[0].get("id"):
                return str(msgs[0]["id"])
            raise DeliveryError("answer without messages[0].id", retryable=True)
        error = body.get("error") if isinstance(body, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        code = code if isinstance(code, int) else None
        retryable = (resp.status_code == 429 or resp.status_code >= 500
                     or code in RETRYABLE_CODES)
        # The provider's message text, never the recipient: no phone number reaches a log line.
        title = str(error.get("message", ""))[:200] if isinstance(error, dict) else ""
        raise DeliveryError(f"HTTP {resp.status_code} code {code}: {title}".strip(),
                            retryable=retryable, code=code)

    async def aclose(self) -> None:
        await self._client.aclose()
