"""A TCP proxy that holds every client-to-server chunk for a fixed delay: a database "on another host".

The whole round-trip delay is put on the way there (each query waits ``--delay-ms`` before PostgreSQL sees it, the
answer comes straight back), which adds the same time per round trip as splitting it both ways and needs one timer
per chunk. It counts the chunks the clients sent (``--count-file``, rewritten every half second): a chunk is one
flush by the client, i.e. one round trip (asyncpg sends a statement's messages in one write and waits).

    python -m benchmarks.delay_proxy --listen 127.0.0.1:6543 --target 127.0.0.1:5432 --delay-ms 1 --count-file f
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from pathlib import Path

chunks = 0


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay_s: float, count: bool) -> None:
    global chunks
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def deliver() -> None:
        while True:
            due, data = await queue.get()
            if not data:
                break
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        with contextlib.suppress(Exception):
            writer.close()

    sender = asyncio.create_task(deliver()) if delay_s > 0 else None
    try:
        while data := await reader.read(65536):
            if count:
                chunks += 1
            if sender is None:
                writer.write(data)
                await writer.drain()
            else:
                queue.put_nowait((loop.time() + delay_s, data))
    except (ConnectionError, OSError):
        pass
    finally:
        if sender is not None:
            queue.put_nowait((0.0, b""))
            with contextlib.suppress(Exception):
                await sender
        else:
            with contextlib.suppress(Exception):
                writer.close()


async def main(listen: str, target: str, delay_ms: float, count_file: Path | None) -> None:
    host, port = listen.rsplit(":", 1)
    target_host, target_port = target.rsplit(":", 1)

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(target_host, int(target_port))
        await asyncio.gather(_pipe(client_r, server_w, delay_ms / 1000, True), _pipe(server_r, client_w, 0.0, False))

    server = await asyncio.start_server(handle, host, int(port))
    async with server:
        while True:
            if count_file is not None:
                count_file.write_text(f"{chunks} {time.time()}\n")  # noqa: ASYNC240 - a few bytes, twice a second
            await asyncio.sleep(0.5)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--delay-ms", type=float, default=1.0)
    parser.add_argument("--count-file", type=Path)
    a = parser.parse_args()
    asyncio.run(main(a.listen, a.target, a.delay_ms, a.count_file))
