"""The messaging port: what AvAdmin needs from a WhatsApp provider, nothing more."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class TemplateMessage:
    """A pre-approved template and its parameters (Cloud API ``template`` object)."""

    name: str
    language: str
    components: list[dict[str, Any]] = field(default_factory=list)


class DeliveryError(Exception):
    """The provider did not accept the message. ``retryable`` when trying later may work
    (outage, rate limit); otherwise the message is dead-lettered at once."""

    def __init__(self, summary: str, *, retryable: bool, code: int | None = None) -> None:
        super().__init__(summary)
        self.summary = summary
        self.retryable = retryable
        self.code = code


class MessagingPort(Protocol):
    async def send_template(self, to_e164: str, message: TemplateMessage) -> str:
        """Send; return the provider's message id. Raises ``DeliveryError``."""
        ...

    async def aclose(self) -> None: ...
