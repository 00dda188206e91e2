"""The stand-ins as `make run` starts them: their secrets come by environment, never in argv."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from avelar_devstack import cli

from .conftest import free_base


def _message() -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": "5511990000001", "type": "template",
            "template": {"name": "avelar_venda_realizada", "language": {"code": "pt_BR"},
                         "components": []}}


def test_the_whatsapp_standin_starts_whatever_its_token_begins_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token_urlsafe that begins with "-" (1 in 64) used to be taken by argparse for an option
    on every restart: the stand-in never came up and `make run` waited in vain."""
    monkeypatch.delenv("WHATSAPP_PHONE_NUMBER_ID", raising=False)
    monkeypatch.delenv("WHATSAPP_ACCESS_TOKEN", raising=False)
    monkeypatch.setattr(cli.secrets, "token_urlsafe", lambda n=None: "-dash-first-token")
    stack = cli.Stack(home=tmp_path, host="127.0.0.1", port_base=free_base())
    env, standin = cli.whatsapp(stack)
    assert standin is not None
    cmd, standin_env = standin
    token = env["AVADMIN_WHATSAPP_ACCESS_TOKEN"]
    assert token == "-dash-first-token"
    assert all(token not in arg for arg in cmd)  # out of the process list
    proc = subprocess.Popen(cmd, env={**os.environ, **standin_env},  # noqa: S603
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        url = f"{env['AVADMIN_WHATSAPP_API_URL']}/v21.0/100000000000000/messages"
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                wrong = httpx.post(url, json=_message(), headers={"Authorization": "Bearer x"})
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the stand-in never answered"
                time.sleep(0.2)
        assert wrong.status_code == 401  # the token it was given, not "any non-empty"
        right = httpx.post(url, json=_message(), headers={"Authorization": f"Bearer {token}"})
        assert right.status_code != 401, right.text
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
