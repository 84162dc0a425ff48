"""`certgov server` with a simulated network round trip: every HTTP request waits `ms` before
the app sees it (an asyncio sleep: no CPU, other requests go on meanwhile).

    python -m benchmarks.delayed MS server --database ... --port ...

Over loopback a round trip costs nothing, so nothing shows what `--parallelism` buys against a
real, distant CLM; this does, for the apply figures labelled with a round trip.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import certgov.server.serve
from certgov.cli.main import main as certgov_main


class Delay:
    """ASGI middleware: sleep, then pass the request on."""

    def __init__(self, app: Any, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await asyncio.sleep(self.seconds)
        await self.app(scope, receive, send)


def main(argv: list[str]) -> None:
    seconds = float(argv[0]) / 1000
    create_app = certgov.server.serve.create_app
    certgov.server.serve.create_app = lambda settings: Delay(create_app(settings), seconds)
    sys.argv = ["certgov", *argv[1:]]
    certgov_main()


if __name__ == "__main__":
    main(sys.argv[1:])
