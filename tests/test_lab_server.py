"""End-to-end tests of the lab appliance's SSH CLI: real SSH over loopback, raw asyncssh client."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncssh

from ops.lab.server import LabAppliance, LabConfig

NOW = 1_795_000_000.0
PROMPT = "admin:"


class Shell:
    """A PTY shell on the lab with a read-until-regex helper (the test's own tiny channel)."""

    def __init__(self, conn: asyncssh.SSHClientConnection, proc: asyncssh.SSHClientProcess[str]) -> None:
        self.conn = conn
        self.proc = proc
        self.buffer = ""

    async def expect(self, pattern: str, timeout: float = 5.0) -> str:
        """Read until `pattern` (a regex) appears; return everything up to and including it."""
        regex = re.compile(pattern)

        async def pump() -> str:
            while True:
                m = regex.search(self.buffer)
                if m:
                    out, self.buffer = self.buffer[:m.end()], self.buffer[m.end():]
                    return out
                data = await self.proc.stdout.read(65536)
                if not data:
                    raise EOFError(f"EOF while waiting for {pattern!r}; got {self.buffer!r}")
                self.buffer += data

        try:
            return await asyncio.wait_for(pump(), timeout)
        except TimeoutError:
            raise AssertionError(f"timed out waiting for {pattern!r}; buffer: {self.buffer!r}") from None

    def send(self, text: str) -> None:
        self.proc.stdin.write(text)

    async def run(self, command: str, until: str = r"\r\nadmin:$") -> str:
        """Send a command with CR and return its output (between the echo line and the prompt)."""
        self.send(command + "\r")
        out = await self.expect(until)
        assert out.startswith(command + "\r\n"), out
        return out[len(command) + 2:]


@asynccontextmanager
async def shell(lab: LabAppliance, **kw: Any) -> AsyncIterator[Shell]:
    opts: dict[str, Any] = dict(username=lab.config.username, password=lab.config.password, known_hosts=None,
                                client_keys=None, agent_path=None, config=None)
    opts.update(kw)
    async with asyncssh.connect(lab.host, lab.port, **opts) as conn:
        proc = await conn.create_process(term_type="vt100", encoding="utf-8")
        sh = Shell(conn, proc)
        await sh.expect(r"admin:$")
        try:
            yield sh
        finally:
            proc.close()


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_banner_prompt_and_echo() -> None:
    async def main() -> None:
        async with LabAppliance(LabConfig(now=NOW)) as lab:
            async with asyncssh.connect(lab.host, lab.port, username="admin", password="lab-Admin-pw1",
                                        known_hosts=None, client_keys=None, agent_path=None,
                                        config=None) as conn:
                proc = await conn.create_process(term_type="vt100", encoding="utf-8")
                sh = Shell(conn, proc)
                banner = await sh.expect(r"admin:$")
                assert banner == (
                    "Command Line Interface is starting up, please wait ...\r\n\r\n"
                    "   Welcome to the Platform Command Line Interface\r\n\r\n"
                    "VMware Installation:\r\n"
                    "\t2 vCPU: Intel(R) Xeon(R) CPU E5-4669 v4 @ 2.20GHz\r\n"
                    "\tDisk 1: 146GB, Partitions aligned\r\n"
                    "\t10240 Mbytes RAM\r\n\r\nadmin:"
                )
                sh.send("show vers")
                assert await sh.expect("show vers") == "show vers"
                sh.send("ion active\r\n")
                out = await sh.expect(r"\r\nadmin:$")
                assert out == ("ion active\r\nActive Master Version: 12.6.1.10000-5\r\n"
                               "Active Version Installed Software Options:\r\n"
                               "No Installed Software Options Found.\r\nadmin:")
                # CR LF counted as one line end: no extra prompt follows.
                sh.send("\r")
                assert await sh.expect(r"\r\nadmin:$") == "\r\nadmin:"
                proc.close()
            assert lab.commands == ["show version active"]

    run(main())
