"""Round trips to PostgreSQL as the server sees them: a TCP proxy between the pool and the
server that reads the client's protocol messages. A round trip is a message the client then
waits on: a simple ``Query`` ('Q': one, however many statements it holds) or a ``Sync`` ('S':
the end of an extended-protocol exchange). Nothing in SQLAlchemy or asyncpg is patched, so
what is counted is what went over the wire."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from sqlalchemy.engine import make_url

_NEGOTIATION = {80877103, 80877104}  # SSLRequest, GSSENCRequest (answered by one byte)


@dataclass
class RoundTripCounter:
    trips: int = 0
    queries: list[str] = field(default_factory=list)  # the simple-protocol texts seen

    def reset(self) -> None:
        self.trips = 0
        self.queries.clear()


async def _pump_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                       counter: RoundTripCounter) -> None:
    # The startup message, and the SSL / GSS requests before it, have no type byte.
    while True:
        head = await reader.readexactly(4)
        (length,) = struct.unpack("!i", head)
        body = await reader.readexactly(length - 4)
        writer.write(head + body)
        await writer.drain()
        if struct.unpack("!i", body[:4])[0] not in _NEGOTIATION:
            break
    while True:
        kind = await reader.readexactly(1)
        head = await reader.readexactly(4)
        (length,) = struct.unpack("!i", head)
        body = await reader.readexactly(length - 4)
        if kind == b"Q":
            counter.trips += 1
            counter.queries.append(body.rstrip(b"\x00").decode(errors="replace"))
        elif kind == b"S":
            counter.trips += 1
        writer.write(kind + head + body)
        await writer.drain()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()


@contextlib.asynccontextmanager
async def counting_proxy(url: str) -> AsyncIterator[tuple[str, RoundTripCounter]]:
    """``url`` rewritten to go through a counting proxy on 127.0.0.1, and the counter."""
    u = make_url(url)
    socket_dir = u.query.get("host")
    counter = RoundTripCounter()

    async def handle(c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        if socket_dir:
            s_reader, s_writer = await asyncio.open_unix_connection(
                f"{socket_dir}/.s.PGSQL.{u.port or 5432}")
        else:
            s_reader, s_writer = await asyncio.open_connection(u.host or "127.0.0.1",
                                                               u.port or 5432)
        tasks = [asyncio.create_task(_pump_client(c_reader, s_writer, counter)),
                 asyncio.create_task(_pump(s_reader, c_writer))]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in tasks:
                t.cancel()
            for w in (c_writer, s_writer):
                w.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    # Plain text, so that the messages can be read.
    query = {**{k: v for k, v in u.query.items() if k not in ("host", "ssl", "sslmode")},
             "ssl": "disable"}
    proxied = u.set(host="127.0.0.1", port=port, query=query)
    try:
        yield proxied.render_as_string(hide_password=False), counter
    finally:
        server.close()
