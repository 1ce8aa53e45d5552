"""A lab appliance in its own process for the round-trip peers: prints where it listens, serves until stdin closes."""

from __future__ import annotations

import asyncio
import sys

from _common import emit

from ops.lab.server import LabAppliance, LabConfig


async def main(password: str) -> None:
    async with LabAppliance(LabConfig(password=password)) as lab:
        emit(host=lab.host, port=lab.port, fingerprint=lab.host_key_fingerprint(),
             known_hosts=lab.known_hosts_line())
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)  # EOF: the bench is done with us


if __name__ == "__main__":
    from ops import sshpatches

    sshpatches.apply()  # as the ops entry point does
    asyncio.run(main(sys.argv[1]))
