"""The tenant-isolation matrix (issue 9, point 6), generated from a service's OpenAPI.

Every operation whose path carries an id is called by another company, once per role, with the
owner's ids: the answer must be what the same caller gets for an id that does not exist (the
same status and problem ``code``: nothing tells the intruder the row is there), never a 2xx,
never a 5xx, and the database must be unchanged (a checksum of every table, read as the
database's owner, before and after). Then the owner calls the same operation with the same ids
and must get a different answer than for a missing id: the ids are real, so the intruder's 404
means something.

The matrix is declared per service with what cannot be derived: the owner's id for each path
parameter name (``ids``), a value of the same kind that does not exist when a random UUID is not
one (``missing``), the request a write needs to get past validation (``requests``), and the
operations whose ids are not a company's rows (``shared``, with the reason). A new route whose
parameter has no id, or whose required body has no request, fails the matrix: it cannot be
forgotten.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

METHODS = ("get", "post", "put", "patch", "delete")
# The owner's own calls run after every intruder call; the destructive ones last.
_OWNER_ORDER = {"GET": 0, "POST": 1, "PUT": 1, "PATCH": 2, "DELETE": 3}


async def table_checksums(engine: AsyncEngine, ignore: tuple[str, ...] = ()) -> dict[str, Any]:
    """``{table: (rows, md5 of the rows as text in order)}`` for every table of the public
    schema. Read through ``engine``: connect as the database's owner, so that no row-level
    policy hides a row from the comparison."""
    async with engine.connect() as conn:
        tables = [r[0] for r in await conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"))
            if r[0] not in ignore]
        if not tables:
            return {}
        # Table names read from the catalogue just above, never from a caller.
        per_table = ("SELECT '{t}', count(*), md5(coalesce(string_agg(x::text, '|' ORDER BY "
                     "x::text), '')) FROM \"{t}\" x")
        sql = " UNION ALL ".join(per_table.format(t=t) for t in tables)
        return {name: (int(n), digest) for name, n, digest in await conn.execute(text(sql))}


def _answer(resp: httpx.Response) -> tuple[int, str | None]:
    code = None
    if resp.headers.get("content-type", "").startswith("application/problem+json"):
        try:
            code = resp.json().get("code")
        except ValueError:
            code = None
    return resp.status_code, code


@dataclass
class Operation:
    method: str
    path: str
    params: list[str]
    body_required: bool

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


def id_operations(openapi: Mapping[str, Any]) -> list[Operation]:
    """Every operation with a path parameter, as the OpenAPI document declares it."""
    ops: list[Operation] = []
    for path, item in openapi.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            params = [p["name"] for p in op.get("parameters", []) + item.get("parameters", [])
                      if p.get("in") == "path"]
            if not params:
                continue
            body = op.get("requestBody") or {}
            ops.append(Operation(method.upper(), path, params, bool(body.get("required"))))
    return ops


@dataclass
class TenantMatrix:
    client: httpx.AsyncClient
    openapi: Mapping[str, Any]
    owner: Mapping[str, str]
    intruders: Mapping[str, Mapping[str, str]]
    ids: Mapping[str, str]
    snapshot: Callable[[], Awaitable[dict[str, Any]]]
    missing: Mapping[str, str] = field(default_factory=dict)
    requests: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    shared: Mapping[str, str] = field(default_factory=dict)
    rows: list[tuple[str, str, tuple[int, str | None], tuple[int, str | None]]] = field(
        default_factory=list)
    owner_rows: list[tuple[str, tuple[int, str | None]]] = field(default_factory=list)

    def _url(self, op: Operation, values: Mapping[str, str]) -> str:
        return re.sub(r"\{([^}]+)\}", lambda m: str(values[m.group(1)]), op.path)

    def _missing(self, name: str) -> str:
        return self.missing.get(name) or str(uuid.uuid4())

    async def _call(self, op: Operation, url: str, headers: Mapping[str, str]) -> httpx.Response:
        kwargs = dict(self.requests.get(op.key, {}))
        if "files" in kwargs:  # a fresh stream per request
            kwargs["files"] = {k: tuple(v) for k, v in kwargs["files"].items()}
        return await self.client.request(op.method, url, headers=dict(headers), **kwargs)

    def uncovered(self) -> list[str]:
        """What the matrix cannot call: a parameter without an owner's id, a required body
        without a request."""
        out = []
        for op in id_operations(self.openapi):
            for name in op.params:
                if name not in self.ids:
                    out.append(f"{op.key}: no owner id for {{{name}}} (add it to the ids)")
            if op.body_required and op.key not in self.requests and op.key not in self.shared:
                out.append(f"{op.key}: a required body and no request (add it to requests)")
        return out

    async def run(self) -> list[str]:
        """Every operation x every intruder role; then the owner's control calls. Returns the
        failures as readable lines (empty: isolated)."""
        failures = self.uncovered()
        if failures:
            return failures
        ops = id_operations(self.openapi)
        start = await self.snapshot()
        if sum(n for n, _ in start.values()) == 0:
            return ["the database snapshot sees no rows: it must be read as the owner, after "
                    "the world is built"]
        missing_answers: dict[tuple[str, str], tuple[int, str | None]] = {}
        for op in ops:
            real = self._url(op, self.ids)
            absent = self._url(op, {n: self._missing(n) for n in op.params})
            for role, headers in self.intruders.items():
                before = await self.snapshot()
                other = await self._call(op, real, headers)
                after = await self.snapshot()
                gone = await self._call(op, absent, headers)
                got, expected = _answer(other), _answer(gone)
                missing_answers[(op.key, role)] = expected
                self.rows.append((op.key, role, got, expected))
                where = f"{op.key} as the other company's {role}"
                if got[0] >= 500 or expected[0] >= 500:
                    failures.append(f"{where}: server error {got} / missing id {expected}")
                changed = sorted(t for t in after if after[t] != before.get(t))
                if changed:
                    failures.append(f"{where}: the database changed ({', '.join(changed)})")
                if op.key in self.shared:
                    continue
                if 200 <= got[0] < 300:
                    failures.append(f"{where}: {got[0]} (another company's row answered)")
                elif got != expected:
                    failures.append(f"{where}: {got}, but a missing id gets {expected}")
        failures += await self._owner_controls(ops, missing_answers)
        return failures

    async def _owner_controls(self, ops: list[Operation],
                              missing_answers: Mapping[tuple[str, str], Any]) -> list[str]:
        """The owner's own ids are found (else the intruder's 404 proves nothing). Skipped for
        routes no company caller reaches (401/403 for any id) and for shared ones."""
        failures = []
        admin_role = next(iter(self.intruders))
        for op in sorted(ops, key=lambda o: _OWNER_ORDER.get(o.method, 1)):
            expected = missing_answers[(op.key, admin_role)]
            if op.key in self.shared or expected[0] in (401, 403):
                continue
            got = _answer(await self._call(op, self._url(op, self.ids), self.owner))
            self.owner_rows.append((op.key, got))
            if got == expected:
                failures.append(f"{op.key}: the owner's own ids get {got} like a missing id "
                                "(the matrix's ids are not the owner's rows)")
        return failures
