"""A TCP proxy between a server process and PostgreSQL that a test can cut, stall and make refuse (asyncio).

The shared PostgreSQL cluster is never restarted: what a restart, a network partition or a full connection table
looks like to the service is played here, on the service's side of the wire.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket


class TcpProxy:
    """Listens on a free local port and forwards each connection to ``target``.

    - ``cut()``: reset every open connection (a database restart, a dropped network);
    - ``refuse(True)``: close each new connection at once (a database that is down);
    - ``stall(True)``: keep connections open but forward nothing either way (a partition, a hung host);
    - ``normal()``: forward again.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.refusing = False
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()
        self.accepted = 0
        self.refuse_with_too_many_clients = False
        """New connections get PostgreSQL's own refusal: FATAL 53300 "sorry, too many clients already"."""

    async def start(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    def url(self, database_url: str) -> str:
        """``database_url`` with its host and port replaced by the proxy's."""
        scheme, rest = database_url.split("://", 1)
        userinfo, _, hostpath = rest.rpartition("@")
        path = hostpath.split("/", 1)[1]
        return f"{scheme}://{userinfo + '@' if userinfo else ''}127.0.0.1:{self.port}/{path}"

    def cut(self) -> None:
        for writer in list(self._links):
            sock = writer.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):  # RST, not FIN: what a crashed peer looks like
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            writer.transport.abort()
        self._links.clear()

    def refuse(self, on: bool = True) -> None:
        self.refusing = on

    def stall(self, on: bool = True) -> None:
        if on:
            self._flowing.clear()
        else:
            self._flowing.set()

    def normal(self) -> None:
        self.refuse(False)
        self.stall(False)

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self.refusing:
            client_writer.transport.abort()
            return
        if self.refuse_with_too_many_clients:
            await self._too_many_clients(client_reader, client_writer)
            return
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.transport.abort()
            return
        self._links.update((client_writer, server_writer))
        try:
            await asyncio.gather(
                self._pipe(client_reader, server_writer),
                self._pipe(server_reader, client_writer),
                return_exceptions=True,
            )
        finally:
            for writer in (client_writer, server_writer):
                self._links.discard(writer)
                writer.transport.abort()

    @staticmethod
    async def _too_many_clients(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """What PostgreSQL answers a start-up beyond max_connections (protocol 3: SSLRequest refused with "N",
        then an ErrorResponse to the StartupMessage)."""
        try:
            length = int.from_bytes(await reader.readexactly(4), "big")
            body = await reader.readexactly(length - 4)
            if body[:4] == (80877103).to_bytes(4, "big"):  # SSLRequest: no SSL here, then the real start-up
                writer.write(b"N")
                length = int.from_bytes(await reader.readexactly(4), "big")
                await reader.readexactly(length - 4)
            fields = b"SFATAL\0VFATAL\0C53300\0Msorry, too many clients already\0\0"
            writer.write(b"E" + (len(fields) + 4).to_bytes(4, "big") + fields)
            await writer.drain()
        except (asyncio.IncompleteReadError, OSError):
            pass
        finally:
            writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            data = await reader.read(65536)
            if not data:
                writer.transport.abort()
                return
            await self._flowing.wait()  # a stall holds the bytes (they are never lost, only late)
            writer.write(data)
            await writer.drain()
