"""One fan-out run: N lab appliances (`labfarm`: worker processes sharing one log tree) and ops'
runner pulling the shipped playbook from all of them with `forks` hosts at a time.

Prints the wall time of `run_playbook`, the peak RSS of this (the runner's) process, its CPU
time, the most file descriptors it held, and the open-files limits before and after ops raised
the soft one (as `ops run` does: `ops.rlimits`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import tempfile
import threading
import time
from pathlib import Path

from _common import emit
from labfarm import PASSWORD, lab_farm, make_tree, profiled

REPO = Path(__file__).resolve().parents[2]


def write_inventory(path: Path, hosts: list[tuple[str, int, str]]) -> None:
    lines = ["defaults:", "  username: admin", "  password: env:OPS_BENCH_PW", "groups:",
             "  finesse:", f"    hosts: [{', '.join(h[0] for h in hosts)}]", "hosts:"]
    for name, port, fingerprint in hosts:
        lines += [f"  {name}:", "    address: 127.0.0.1", f"    port: {port}", f"    host_key: \"{fingerprint}\""]
    path.write_text("\n".join(lines) + "\n")


class FdPeak:
    """The most descriptors this process holds, sampled every 20 ms in a thread while it runs."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, len(os.listdir("/proc/self/fd")))

    def __enter__(self) -> FdPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


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
    from ops.playbook import load_playbook
    from ops.rlimits import fit_forks, raise_open_files
    from ops.runner import RunOptions, run_playbook

    soft_before = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    with tempfile.TemporaryDirectory(prefix="ops-bench-fanout-") as tmp, \
            tempfile.TemporaryDirectory(prefix="ops-bench-fanout-out-", dir=args.output_in) as out_tmp:
        root = Path(tmp)
        collected = Path(out_tmp) / "collected"
        with lab_farm(args.hosts, make_tree(root), pace=args.pace, nice=args.lab_nice) as hosts:
            write_inventory(root / "inventory.yaml", hosts)
            os.environ["OPS_BENCH_PW"] = PASSWORD
            inventory = load_inventory(root / "inventory.yaml")
            book = load_playbook(REPO / "playbooks" / "pull-desktop-logs.yaml", inventory)
            # As `ops run` does: the soft open-files limit raised to the hard one, forks fitted to it
            # (the labs are other processes here, as appliances are other machines).
            soft_after = raise_open_files()
            forks = fit_forks(args.forks, soft_after, 0)
            with profiled(os.environ.get("OPS_BENCH_PROFILE")), FdPeak() as fds:  # cProfile of the runner
                start = time.perf_counter()
                report = asyncio.run(run_playbook(book, inventory, RunOptions(output=collected, forks=forks)))
                wall = time.perf_counter() - start
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
         cpu_labs_s=round(labs.ru_utime + labs.ru_stime, 2), peak_fds=fds.peak, forks=forks,
         nofile_soft_before=soft_before, nofile_soft_after=soft_after)


if __name__ == "__main__":
    from ops import sshpatches

    sshpatches.apply()  # as the ops entry point does
    main()
