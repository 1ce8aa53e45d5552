"""One fan-out run: N lab appliances (in worker processes, sharing one log tree) and ops' runner
pulling the shipped playbook from all of them with `forks` hosts at a time.

Prints the wall time of `run_playbook` and the peak RSS of this (the runner's) process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import resource
import tempfile
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path

from _common import emit

PASSWORD = "bench-Fanout-pw-2290"
REPO = Path(__file__).resolve().parents[2]
WORKERS = 2
FILE_DELAY = 0.02


def serve_labs(count: int, first: int, log_root: str, pace: float, nice: int, conn: Connection) -> None:
    """Worker process: start `count` labs, report (name, port, fingerprint), serve until told to stop."""
    from ops import sshpatches
    from ops.lab.server import LabAppliance, LabConfig

    sshpatches.apply()  # a spawned worker runs no __main__: patch as the entry point does

    # The labs stand in for appliances, each a machine of its own: at a lower priority they take
    # the CPU the runner leaves, instead of a share of the runner's (see --lab-nice).
    os.nice(nice)

    async def main() -> None:
        # `pace`: an appliance's pace, roughly: the CLI takes `pace` seconds to start ("several seconds"
        # on real appliances), each file pushed takes a moment; with 0 the labs answer as fast as the
        # CPU allows.
        slow: dict[str, float] = {"banner_delay": pace, "transfer_delay": FILE_DELAY} if pace else {}
        labs = [LabAppliance(LabConfig(hostname=f"fin-{first + i}", password=PASSWORD, log_root=Path(log_root),
                                       **slow))
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


def write_inventory(path: Path, hosts: list[tuple[str, int, str]]) -> None:
    lines = ["defaults:", "  username: admin", "  password: env:OPS_BENCH_PW", "groups:",
             "  finesse:", f"    hosts: [{', '.join(h[0] for h in hosts)}]", "hosts:"]
    for name, port, fingerprint in hosts:
        lines += [f"  {name}:", "    address: 127.0.0.1", f"    port: {port}", f"    host_key: \"{fingerprint}\""]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", type=int, required=True)
    parser.add_argument("--forks", type=int, required=True)
    parser.add_argument("--pace", type=float, default=0.0,
                        help="seconds each lab takes to show its prompt, plus 20 ms a file (0: CPU speed)")
    parser.add_argument("--lab-nice", type=int, default=10,
                        help="niceness of the lab worker processes (0: the runner's priority)")
    parser.add_argument("--output-in", type=Path, help="make the run directory under this directory (e.g. a tmpfs)")
    args = parser.parse_args()

    from ops.inventory import load_inventory
    from ops.lab import logtree
    from ops.playbook import load_playbook
    from ops.runner import RunOptions, run_playbook

    with tempfile.TemporaryDirectory(prefix="ops-bench-fanout-") as tmp, \
            tempfile.TemporaryDirectory(prefix="ops-bench-fanout-out-", dir=args.output_in) as out_tmp:
        root = Path(tmp)
        collected = Path(out_tmp) / "collected"
        # The same tree in every run (the layout depends on `now`), its mtimes then moved to today,
        # so every row pulls the same files.
        layout_now = 1_790_000_000.0
        shift = time.time() - layout_now
        for f in logtree.generate_tree(root / "activelog", now=layout_now):
            os.utime(root / "activelog" / f.relpath, (f.mtime + shift, f.mtime + shift))
        ctx = multiprocessing.get_context("spawn")
        workers = []
        hosts: list[tuple[str, int, str]] = []
        per = -(-args.hosts // WORKERS)
        for first in range(0, args.hosts, per):
            ours, theirs = ctx.Pipe()
            proc = ctx.Process(target=serve_labs, args=(min(per, args.hosts - first), first,
                                                         str(root / "activelog"), args.pace, args.lab_nice,
                                                         theirs), daemon=True)
            proc.start()
            workers.append((proc, ours))
        try:
            for _, conn in workers:
                hosts += conn.recv()
            write_inventory(root / "inventory.yaml", hosts)
            os.environ["OPS_BENCH_PW"] = PASSWORD
            inventory = load_inventory(root / "inventory.yaml")
            book = load_playbook(REPO / "playbooks" / "pull-desktop-logs.yaml", inventory)
            with profiled(os.environ.get("OPS_BENCH_PROFILE")):  # a cProfile of the runner's process
                start = time.perf_counter()
                report = asyncio.run(run_playbook(book, inventory, RunOptions(output=collected,
                                                                              forks=args.forks)))
                wall = time.perf_counter() - start
        finally:
            for _proc, conn in workers:
                conn.send("stop")
            for proc, _ in workers:
                proc.join(30)
                if proc.is_alive():
                    proc.terminate()
        failed = {name: rec.error for name, rec in report.hosts.items() if rec.status != "ok"}
        files = sum(len(list((collected / report.run_id / h / "files").rglob("*.*")))
                    for h in report.hosts)
    if os.environ.get("OPS_BENCH_TIMELINE"):  # when each host's steps started and ended, from the report
        from datetime import datetime
        t0 = min(datetime.fromisoformat(r.started) for r in report.hosts.values())
        rows = []
        for name, rec in report.hosts.items():
            for step in rec.steps:
                begin = (datetime.fromisoformat(step.started) - t0).total_seconds()
                rows.append((name, step.name, round(begin, 2), round(begin + step.duration_s, 2)))
        Path(os.environ["OPS_BENCH_TIMELINE"]).write_text("\n".join(map(str, rows)) + "\n")
    me, labs = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    emit(ok=not failed and len(report.hosts) == args.hosts, failed=dict(list(failed.items())[:3]), wall=wall,
         peak_rss_kib=me.ru_maxrss, files=files, cpu_runner_s=round(me.ru_utime + me.ru_stime, 2),
         cpu_labs_s=round(labs.ru_utime + labs.ru_stime, 2))


if __name__ == "__main__":
    from ops import sshpatches

    sshpatches.apply()  # as the ops entry point does
    main()
