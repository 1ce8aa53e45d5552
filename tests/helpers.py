"""Helpers shared by tests: run a coroutine, write an inventory that points at running labs."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
from collections.abc import Coroutine, Iterator, Sequence
from pathlib import Path
from typing import Any

from ops.lab.server import LabAppliance, LabConfig

REPO = Path(__file__).resolve().parent.parent
LAB_PASSWORD = "Lab-Secret-Pw-4417"


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coro)


def write_inventory(path: Path, labs: dict[str, LabAppliance]) -> Path:
    """An inventory that reaches already-running labs the way it would reach real appliances."""
    lines = ["defaults:", "  username: admin", "  password: env:OPS_TEST_PW", "groups:",
             "  finesse:", f"    hosts: [{', '.join(labs)}]", "hosts:"]
    for name, lab in labs.items():
        lines += [f"  {name}:", f"    address: {lab.host}", f"    port: {lab.port}",
                  f"    host_key: {lab.host_key_fingerprint()}"]
        if lab.config.timezone:  # an appliance in another zone is given its zone, as an admin would
            lines.append(f"    timezone: {lab.config.timezone}")
    path.write_text("\n".join(lines) + "\n")
    return path


def _serve_labs(count: int, password: str, conn: Any) -> None:
    """A child process's work: start `count` labs, send their (host, port, fingerprint), serve until told."""
    from ops import sshpatches

    sshpatches.apply()  # a spawned child runs no entry point: patch as `ops` does

    async def main() -> None:
        labs = [LabAppliance(LabConfig(hostname=f"fin-{i}", password=password)) for i in range(count)]
        try:
            for lab in labs:
                await lab.start()
            conn.send([(lab.host, lab.port, lab.host_key_fingerprint()) for lab in labs])
            await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        finally:
            await asyncio.gather(*(lab.stop() for lab in labs))

    asyncio.run(main())


@contextlib.contextmanager
def labs_elsewhere(path: Path, count: int) -> Iterator[Path]:
    """`count` labs served by a child process (so what this process allocates or spends is the
    runner's alone), and an inventory at `path` that reaches them as real appliances (password in
    OPS_TEST_PW, pinned host keys). They stop when the block ends."""
    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe()
    child = ctx.Process(target=_serve_labs, args=(count, LAB_PASSWORD, theirs), daemon=True)
    child.start()
    try:
        labs = ours.recv()
        names = [f"fin-{i}" for i in range(count)]
        lines = ["receiver: {listen: 127.0.0.1, advertise: 127.0.0.1, port: 0}", "defaults:", "  username: admin",
                 "  password: env:OPS_TEST_PW", "groups:", f"  finesse: {{hosts: [{', '.join(names)}]}}", "hosts:"]
        for name, (host, port, fingerprint) in zip(names, labs, strict=True):
            lines.append(f"  {name}: {{address: {host}, port: {port}, host_key: '{fingerprint}'}}")
        path.write_text("\n".join(lines) + "\n")
        yield path
    finally:
        with contextlib.suppress(OSError):
            ours.send("stop")
        child.join(30)
        if child.is_alive():
            child.kill()
            child.join()


_TERMINAL_DRIVER = """
import json, sys
import pexpect
spec = json.loads(sys.stdin.read())
child = pexpect.spawn(spec["argv"][0], spec["argv"][1:], cwd=spec["cwd"], encoding="utf-8",
                      timeout=spec["timeout"], dimensions=tuple(spec["dimensions"]))
seen = ""
for question, answer in spec["answers"]:
    child.expect(question)
    seen += (child.before or "") + (child.after or "")
    child.sendline(answer)
child.expect(pexpect.EOF)
child.close()
seen += child.before or ""
print(json.dumps({"status": child.exitstatus, "signal": child.signalstatus, "output": seen}))
"""


def on_a_terminal(argv: list[str], cwd: Path, answers: Sequence[tuple[str, str]] = (),
                  timeout: float = 90, dimensions: tuple[int, int] = (24, 80)) -> tuple[int | None, str]:
    """Run `argv` on a pseudo-terminal (pexpect), answering each question (a regex) with its line;
    (exit status, everything the terminal showed). pexpect forks from a fresh single-threaded
    Python: a pytest worker runs threads (what earlier tests left, an event loop's executor), and
    forking a multi-threaded process may deadlock the child (Python 3.12 warns of it)."""
    import json
    import subprocess
    import sys

    spec = {"argv": argv, "cwd": str(cwd), "answers": list(answers), "timeout": timeout, "dimensions": dimensions}
    done = subprocess.run([sys.executable, "-c", _TERMINAL_DRIVER], input=json.dumps(spec), text=True,
                          capture_output=True, timeout=timeout + 30)
    if done.returncode != 0:
        raise AssertionError(f"the terminal driver failed: {done.stderr}")
    result = json.loads(done.stdout)
    return result["status"], result["output"]
