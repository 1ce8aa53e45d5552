"""ops' SFTP receiver in its own process: prints where to push and as whom, then, once stdin
closes, the manifest (path, size, sha256 computed while the bytes arrived)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from _common import emit

from ops.receiver import Receiver


async def main(root: str) -> None:
    receiver = Receiver(Path(root), listen_host="127.0.0.1")
    async with receiver:
        account = receiver.add_account("bench")
        emit(port=receiver.port, username=account.username, password=account.password.reveal(),
             directory=str(account.directory))
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        emit(manifest=[{"path": e.path, "size": e.size, "sha256": e.sha256} for e in receiver.manifest("bench")])


if __name__ == "__main__":
    from ops import sshpatches

    sshpatches.apply()  # as the ops entry point does
    asyncio.run(main(sys.argv[1]))
