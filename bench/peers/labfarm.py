"""N lab appliances in worker processes sharing one log tree: what every fan-out peer pulls from.

ops' fan-out (`fanout.py`) and the admins' way (`pull_nornir.py`) start their labs through this
one module, the same way: `WORKERS` spawned processes, the same log tree, the same pace and
niceness, so the only difference between two rows is the client side.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import resource
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path

PASSWORD = "bench-Fanout-pw-2290"
WORKERS = 2
FILE_DELAY = 0.02

Host = tuple[str, int, str]  # name, port, host key fingerprint


def serve_labs(count: int, first: int, log_root: str, pace: float, nice: int, conn: Connection) -> None:
    """Worker process: start `count` labs, report (name, port, fingerprint), serve until told to stop."""
    from ops import sshpatches
    from ops.lab.server import LabAppliance, LabConfig

    sshpatches.apply()  # a spawned worker runs no __main__: patch as the entry point does

    # The labs stand in for appliances, each a machine of its own: at a lower priority they take
    # the CPU the runner leaves, instead of a share of the runner's (see --lab-nice).
    os.nice(nice)
    # Hundreds of appliances in one process hold thousands of descriptors; on real machines each
    # holds its own. The runner's limit is the one under test, not the labs'.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    async def main() -> None:
        # `pace`: an appliance's pace, roughly: the CLI takes `pace` seconds to start ("several seconds"
        # on real appliances), each file pushed takes a moment; with 0 the labs answer as fast as the
        # CPU allows.
        labs = [LabAppliance(LabConfig(hostname=f"fin-{first + i}", password=PASSWORD, log_root=Path(log_root),
                                       banner_delay=pace, transfer_delay=FILE_DELAY if pace else 0.0))
                for i in range(count)]
        for lab in labs:
            await lab.start()
        target = os.environ.get("OPS_BENCH_PROFILE")
        with profiled(f"{target}.lab{first}" if target else None):
            conn.send([(lab.config.hostname, lab.port, lab.host_key_fingerprint()) for lab in labs])
            await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        await asyncio.gather(*(lab.stop() for lab in labs))

    asyncio.run(main())


@contextlib.contextmanager
def profiled(path: str | None) -> Iterator[None]:
    """cProfile what runs inside, into `path` (nothing when no path is given)."""
    if not path:
        yield
        return
    import cProfile
    with cProfile.Profile() as profile:
        yield
    profile.dump_stats(path)


def make_tree(root: Path) -> Path:
    """The same log tree in every run (the layout depends on `now`), its mtimes moved to today, so
    every row pulls the same files; returns its activelog directory."""
    from ops.lab import logtree

    layout_now = 1_790_000_000.0
    shift = time.time() - layout_now
    for f in logtree.generate_tree(root / "activelog", now=layout_now):
        os.utime(root / "activelog" / f.relpath, (f.mtime + shift, f.mtime + shift))
    return root / "activelog"


@contextlib.contextmanager
def lab_farm(hosts: int, log_root: Path, *, pace: float, nice: int) -> Iterator[list[Host]]:
    """`hosts` labs in `WORKERS` spawned processes, serving until the block ends."""
    ctx = multiprocessing.get_context("spawn")
    workers = []
    found: list[Host] = []
    per = -(-hosts // WORKERS)
    try:
        for first in range(0, hosts, per):
            ours, theirs = ctx.Pipe()
            proc = ctx.Process(target=serve_labs, args=(min(per, hosts - first), first, str(log_root), pace, nice,
                                                         theirs), daemon=True)
            proc.start()
            workers.append((proc, ours))
        for _, conn in workers:
            found += conn.recv()
        yield found
    finally:
        for _proc, conn in workers:
            with contextlib.suppress(OSError):
                conn.send("stop")
        for proc, _ in workers:
            proc.join(30)
            if proc.is_alive():
                proc.terminate()
