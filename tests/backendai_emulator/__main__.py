"""Command line.

``python -m tests.backendai_emulator --port 0 --generation {old,new} --access-key AK
--secret-key SK`` prints the bound URL as its first stdout line.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from .server import Emulator, EmulatorConfig


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tests.backendai_emulator")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--generation", choices=["old", "new"], default="new")
    p.add_argument("--access-key", default=EmulatorConfig.access_key)
    p.add_argument("--secret-key", default=EmulatorConfig.secret_key)
    p.add_argument("--rate-limit", type=int, default=1000)
    p.add_argument("--rate-window", type=float, default=900.0)
    p.add_argument("--max-sessions", type=int, default=8)
    p.add_argument("--scheduling-delay", type=float, default=0.3)
    p.add_argument("--flush-timeout", type=float, default=2.0)
    p.add_argument("--batch-exec-timeout", type=float, default=None)
    return p.parse_args(argv)


async def amain(args: argparse.Namespace) -> None:
    cfg = EmulatorConfig(
        generation=args.generation,
        access_key=args.access_key,
        secret_key=args.secret_key,
        rate_limit=args.rate_limit,
        rate_window=args.rate_window,
        max_sessions=args.max_sessions,
        scheduling_delay=args.scheduling_delay,
        flush_timeout=args.flush_timeout,
        batch_exec_timeout=args.batch_exec_timeout,
    )
    emu = Emulator(cfg, host=args.host, port=args.port)
    url = await emu.start()
    print(url, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await emu.stop()


def main() -> None:
    asyncio.run(amain(parse_args()))
    sys.exit(0)


if __name__ == "__main__":
    main()
