"""Peer server for scripts/bench-ws.sh: Python `websockets` (PyPI), echo on every path but /broadcast, which sends
every text message to every /broadcast connection with websockets.broadcast (the library's own fan-out)."""
import asyncio
import sys

import websockets
from websockets.asyncio.server import broadcast, serve

group = set()


async def handler(connection):
    if connection.request.path == "/broadcast":
        group.add(connection)
        try:
            async for message in connection:
                broadcast(group, message)
        finally:
            group.discard(connection)
    else:
        async for message in connection:
            await connection.send(message)


async def main(port):
    async with serve(handler, "127.0.0.1", port, max_size=16 * 1024 * 1024, ping_interval=None, compression=None):
        print(f"python websockets {websockets.__version__} listening on {port}", flush=True)
        await asyncio.get_running_loop().create_future()


asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 9003))
