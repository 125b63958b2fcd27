#!/usr/bin/env python3
"""A TCP relay that delays every chunk, for benches that need a network's round trips.

The kernel here has no netem, so the benches put this relay between each tool and each host's
sshd: one listening port on 127.0.0.1 per target, every chunk held DELAY ms in each direction
(so a round trip costs 2 x DELAY; a new connection reaches the host one round trip late, as
TCP's handshake would make it), with an optional bandwidth cap per connection and direction.
Order is kept; at most 64 chunks of 64 KiB wait per direction (a 4 MiB window), so memory stays
bounded whatever a tool sends.

Counted per port, and written as JSON to --stats on SIGUSR1 (then the counters start again):
  conns  TCP connections (one per ssh login; sessions are multiplexed inside, encrypted),
  turns  request/response turns: server data that follows client data, i.e. a time the
         client waited for an answer,
  up     bytes from the tool to the host, down: bytes back.

Usage: delay-relay.py --delay-ms 10 --base-port 40000 --stats FILE [--rate BYTES_PER_S] IP:PORT...
It prints "ready" on stdout once every port listens, and exits on SIGTERM or SIGINT.
"""

import argparse
import asyncio
import json
import os
import signal
import sys

CHUNK = 65536
WINDOW = 64


class Stats:
    def __init__(self):
        self.conns = 0
        self.turns = 0
        self.up = 0
        self.down = 0

    def as_dict(self):
        return {"conns": self.conns, "turns": self.turns, "up": self.up, "down": self.down}


class Turns:
    """The direction of the connection's last chunk, to count request/response turns."""

    def __init__(self, stats):
        self.stats = stats
        self.last = None

    def saw(self, direction):
        if direction == "down" and self.last == "up":
            self.stats.turns += 1
        self.last = direction


async def pump(reader, writer, delay, rate, stats, turns, direction):
    """Copy reader to writer, each chunk released `delay` s after it arrived."""
    loop = asyncio.get_running_loop()
    q = asyncio.Queue(maxsize=WINDOW)

    async def read():
        try:
            while True:
                data = await reader.read(CHUNK)
                if data:
                    turns.saw(direction)
                    setattr(stats, direction, getattr(stats, direction) + len(data))
                await q.put((loop.time(), data))
                if not data:
                    return
        except (ConnectionError, OSError):
            await q.put((loop.time(), b""))

    async def write():
        try:
            while True:
                t, data = await q.get()
                wait = t + delay - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()
                if rate:
                    await asyncio.sleep(len(data) / rate)
        except (ConnectionError, OSError):
            return

    await asyncio.gather(read(), write())


async def serve(port, target, args, stats):
    host, tport = target.rsplit(":", 1)

    async def handle(creader, cwriter):
        try:
            await relay(creader, cwriter)
        except asyncio.CancelledError:
            pass

    async def relay(creader, cwriter):
        stats.conns += 1
        # The TCP handshake's round trip: the host sees the connection one round trip late.
        await asyncio.sleep(2 * args.delay_ms / 1000.0)
        try:
            sreader, swriter = await asyncio.open_connection(host, int(tport))
        except OSError:
            cwriter.close()
            return
        turns = Turns(stats)
        d = args.delay_ms / 1000.0
        await asyncio.gather(
            pump(creader, swriter, d, args.rate, stats, turns, "up"),
            pump(sreader, cwriter, d, args.rate, stats, turns, "down"),
        )
        for w in (swriter, cwriter):
            w.close()

    return await asyncio.start_server(handle, "127.0.0.1", port, reuse_address=True)


def dump(path, stats):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({str(p): s.as_dict() for p, s in stats.items()}, f)
    os.replace(tmp, path)
    for s in stats.values():
        s.__init__()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--delay-ms", type=float, default=10.0)
    ap.add_argument("--base-port", type=int, required=True)
    ap.add_argument("--stats", required=True)
    ap.add_argument("--rate", type=float, default=0.0)
    ap.add_argument("targets", nargs="+")
    args = ap.parse_args()
    stats = {}
    servers = []
    for i, t in enumerate(args.targets):
        port = args.base_port + i
        stats[port] = Stats()
        servers.append(await serve(port, t, args, stats[port]))
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, lambda: dump(args.stats, stats))
    print("ready", flush=True)
    await stop.wait()
    for s in servers:
        s.close()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
