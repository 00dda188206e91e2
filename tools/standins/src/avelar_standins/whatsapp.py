"""A local stand-in for the WhatsApp Cloud API (Meta's Graph API ``/messages`` endpoint).

It speaks the published shapes, so AvAdmin's real adapter talks to it exactly as it would to
``graph.facebook.com``:

* ``POST /{version}/{phone_number_id}/messages`` with ``Authorization: Bearer <token>`` and a
  template message ``{"messaging_product": "whatsapp", "to", "type": "template", "template":
  {"name", "language": {"code"}, "components": [...]}}`` answers ``200 {"messaging_product",
  "contacts": [{"input", "wa_id"}], "messages": [{"id": "wamid..."}]}``;
* errors come in Graph's envelope ``{"error": {"message", "type", "code", "error_data":
  {"messaging_product", "details"}, "fbtrace_id"}}`` (190 bad token, 100 bad parameter,
  132001 unknown template, 132000 wrong parameter count, 131000/130429 when told to fail).

Templates must be "approved" here as at Meta: ``TEMPLATES`` holds the ones AvelarSys registers,
with their Portuguese text, so a wrong name or parameter count fails as it would in production.

For people and tests (not part of the Cloud API):

* ``GET /`` an inbox page: what was "sent" to each number, newest first, codes readable;
* ``GET /_standin/messages?to=5511987654321`` the same as JSON;
* ``DELETE /_standin/messages`` forgets everything;
* ``POST /_standin/outage {"status": 503, "code": 131000}`` makes every send fail until
  ``POST /_standin/outage {"status": null}``.

Run: ``python -m avelar_standins.whatsapp --port 8010`` (``make run`` does it when no
WhatsApp credentials are configured).
"""

from __future__ import annotations

import argparse
import html
import os
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse

# The bearer token it accepts, when set (`make run` sets it; see main()).
TOKEN_ENV = "WHATSAPP_STANDIN_ACCESS_TOKEN"  # noqa: S105 (a variable name)

# Approved templates (name -> category, body text with {{n}} placeholders, button parameters).
TEMPLATES: dict[str, dict[str, Any]] = {
    "avelar_codigo": {
        "category": "AUTHENTICATION",
        "body": "*{{1}}* é seu código de verificação. Para sua segurança, não o compartilhe. "
                "Este código expira em 10 minutos.",
        "copy_code_button": True,
    },
    "avelar_cadastro_tentativa": {
        "category": "UTILITY",
        "body": "Alguém tentou criar uma conta no AvelarSys com o seu {{1}}. Se foi você, entre "
                "com a sua senha ou use \"Esqueci minha senha\". Se não foi, ignore esta "
                "mensagem: nada foi alterado.",
    },
    "avelar_nova_compra": {
        "category": "UTILITY",
        "body": "Nova compra no StockTech: {{1}} (código {{2}}), quantidade {{3}}, comprador "
                "{{4}}, total {{5}}. Converse com o comprador: {{6}}",
    },
    "avelar_compra_concluida": {
        "category": "UTILITY",
        "body": "Sua compra de {{1}} (código {{2}}, quantidade {{3}}) foi concluída por {{4}}. "
                "Total {{5}}.",
    },
    "avelar_compra_cancelada": {
        "category": "UTILITY",
        "body": "A compra de {{1}} (código {{2}}, quantidade {{3}}) com {{4}} foi cancelada. "
                "Total {{5}}.",
    },
    "avelar_pagamento_falhou": {
        "category": "UTILITY",
        "body": "O pagamento da assinatura do plano {{1}} da {{2}} ({{3}}) não foi aprovado. "
                "Atualize a forma de pagamento para evitar a suspensão.",
    },
    "avelar_suspensao_proxima": {
        "category": "UTILITY",
        "body": "A conta da {{1}} no AvelarSys será suspensa em {{2}} por falta de pagamento. "
                "Regularize para continuar usando o sistema.",
    },
    "avelar_senha_redefinida": {
        "category": "UTILITY",
        "body": "Olá, {{1}}. Sua senha do AvelarSys foi redefinida pelo administrador da "
                "empresa. Entre com a senha temporária que ele lhe passar e escolha uma nova.",
    },
}

_PLACEHOLDER = re.compile(r"\{\{(\d+)\}\}")
_DIGITS = re.compile(r"^[1-9][0-9]{7,14}$")


@dataclass
class SentMessage:
    id: str
    to: str
    template: str
    language: str
    category: str
    text: str
    components: list[dict[str, Any]]
    phone_number_id: str
    received_at: str

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Inbox:
    messages: list[SentMessage] = field(default_factory=list)
    outage: tuple[int, int] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


def graph_error(status: int, code: int, message: str, details: str,
                error_type: str = "OAuthException") -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {
        "message": f"(#{code}) {message}", "type": error_type, "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": details},
        "fbtrace_id": secrets.token_urlsafe(12),
    }})


def _body_params(components: list[dict[str, Any]]) -> list[str]:
    for comp in components:
        if isinstance(comp, dict) and str(comp.get("type", "")).lower() == "body":
            return [str(p.get("text", "")) for p in comp.get("parameters", [])
                    if isinstance(p, dict)]
    return []


def _has_copy_code_button(components: list[dict[str, Any]]) -> bool:
    return any(isinstance(c, dict) and str(c.get("type", "")).lower() == "button"
               and c.get("sub_type") == "url" and c.get("parameters")
               for c in components)


Checked = tuple[str, str, str, list[dict[str, Any]], list[str]]


def _envelope_error(body: Any) -> JSONResponse | None:
    if not isinstance(body, dict):
        return graph_error(400, 100, "Invalid parameter", "Request body must be an object")
    if body.get("messaging_product") != "whatsapp":
        return graph_error(400, 100, "Invalid parameter",
                           "The parameter messaging_product is required")
    if not _DIGITS.fullmatch(str(body.get("to", ""))):
        return graph_error(400, 100, "Invalid parameter",
                           "to must be the recipient's number in international format")
    if body.get("type") != "template" or not isinstance(body.get("template"), dict):
        return graph_error(400, 100, "Invalid parameter",
                           "This stand-in only accepts template messages")
    components = body["template"].get("components") or []
    if not isinstance(components, list):
        return graph_error(400, 100, "Invalid parameter", "components must be an array")
    return None


def check_message(body: Any) -> Checked | JSONResponse:
    """The request as Meta checks it: envelope, an approved template, its parameter count and
    (authentication templates) the copy-code button. The error answer, or what was sent."""
    error = _envelope_error(body)
    if error is not None:
        return error
    tpl = body["template"]
    name = str(tpl.get("name", ""))
    lang = tpl.get("language")
    language = str(lang.get("code", "")) if isinstance(lang, dict) else ""
    components = list(tpl.get("components") or [])
    known = TEMPLATES.get(name)
    if known is None or language != "pt_BR":
        return graph_error(404, 132001, "Template name does not exist in the translation",
                           f"template name ({name}) does not exist in {language}")
    params = _body_params(components)
    expected = len(set(_PLACEHOLDER.findall(known["body"])))
    if len(params) != expected:
        return graph_error(400, 132000, "Number of parameters does not match the expected "
                           "number of params",
                           f"body: number of localizable_params ({len(params)}) does not "
                           f"match the expected number of params ({expected})")
    if known.get("copy_code_button") and not _has_copy_code_button(components):
        return graph_error(400, 131008, "Required parameter is missing",
                           "buttons: the copy code button needs the code as parameter")
    return str(body["to"]), name, language, components, params


def render_inbox(messages: list[SentMessage]) -> str:
    by_number: dict[str, list[SentMessage]] = {}
    for m in reversed(messages):
        by_number.setdefault(m.to, []).append(m)
    parts = ["<!doctype html><html lang='pt-BR'><head><meta charset='utf-8'>",
             "<meta http-equiv='refresh' content='5'>",
             "<title>WhatsApp (simulado)</title><style>body{font-family:sans-serif;"
             "max-width:52rem;margin:2rem auto;background:#efeae2}h2{color:#075e54}"
             ".m{background:#fff;border-radius:.5rem;padding:.6rem .9rem;margin:.4rem 0}"
             "small{color:#667}</style></head><body>",
             "<h1>WhatsApp simulado · caixa de entrada</h1>",
             "<p>Nenhuma mensagem sai desta máquina: o AvelarSys está usando o simulador "
             "local da WhatsApp Cloud API. A página se atualiza a cada 5 s.</p>"]
    if not by_number:
        parts.append("<p><em>Nenhuma mensagem enviada ainda.</em></p>")
    for number, msgs in by_number.items():
        parts.append(f"<h2>+{html.escape(number)}</h2>")
        parts.extend(f"<div class='m'>{html.escape(m.text)}<br><small>"
                     f"{html.escape(m.template)} · {html.escape(m.received_at[:19])}"
                     f" UTC</small></div>" for m in msgs)
    parts.append("</body></html>")
    return "".join(parts)


def create_app(*, access_token: str | None = None) -> FastAPI:
    """``access_token``: when set, only that bearer token is accepted (else any non-empty)."""
    app = FastAPI(title="WhatsApp Cloud API (stand-in)", docs_url=None, redoc_url=None)
    inbox = Inbox()
    app.state.inbox = inbox

    @app.post("/{version}/{phone_number_id}/messages")
    async def send(version: str, phone_number_id: str, request: Request) -> JSONResponse:
        auth = request.headers.get("authorization", "")
        token = auth[7:] if auth.lower().startswith("bearer ") else ""
        if not token or (access_token is not None and token != access_token):
            return graph_error(401, 190, "Invalid OAuth access token",
                               "Invalid OAuth access token - Cannot parse access token")
        if inbox.outage is not None:
            status, code = inbox.outage
            return graph_error(status, code, "Service temporarily unavailable",
                               "The stand-in was told to fail (POST /_standin/outage)")
        try:
            body = await request.json()
        except ValueError:
            return graph_error(400, 100, "Invalid parameter", "Request body is not JSON")
        checked = check_message(body)
        if isinstance(checked, JSONResponse):
            return checked
        to, name, language, components, params = checked
        known = TEMPLATES[name]
        text = _PLACEHOLDER.sub(lambda m: params[int(m.group(1)) - 1], known["body"])
        msg = SentMessage(
            id="wamid." + secrets.token_urlsafe(24), to=to, template=name, language=language,
            category=known["category"], text=text, components=components,
            phone_number_id=phone_number_id, received_at=datetime.now(UTC).isoformat(),
        )
        with inbox.lock:
            inbox.messages.append(msg)
        return JSONResponse({"messaging_product": "whatsapp",
                             "contacts": [{"input": to, "wa_id": to}],
                             "messages": [{"id": msg.id}]})

    @app.get("/_standin/messages")
    async def messages(to: str | None = None, template: str | None = None) -> JSONResponse:
        digits = re.sub(r"[^0-9]", "", to or "")
        with inbox.lock:
            items = [m.as_json() for m in inbox.messages
                     if (not digits or m.to == digits) and (not template or m.template == template)]
        return JSONResponse({"messages": items})

    @app.delete("/_standin/messages", status_code=204)
    async def clear() -> None:
        with inbox.lock:
            inbox.messages.clear()

    @app.post("/_standin/outage")
    async def outage(request: Request) -> JSONResponse:
        body = await request.json()
        status = body.get("status") if isinstance(body, dict) else None
        inbox.outage = None if status is None else (int(status), int(body.get("code", 131000)))
        return JSONResponse({"outage": inbox.outage})

    @app.get("/", response_class=HTMLResponse)
    async def page() -> HTMLResponse:
        with inbox.lock:
            items = list(inbox.messages)
        return HTMLResponse(render_inbox(items))

    return app


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    parser = argparse.ArgumentParser(prog="avelar_standins.whatsapp")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8010)
    # The token comes by environment, as the MercadoPago stand-in's secrets do: out of the
    # process list, and a token that begins with "-" is not taken for an option.
    parser.add_argument("--access-token", default=os.environ.get(TOKEN_ENV))
    args = parser.parse_args(argv)
    uvicorn.run(create_app(access_token=args.access_token), host=args.host, port=args.port,
                log_level="warning")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
