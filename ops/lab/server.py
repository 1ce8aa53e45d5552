"""The lab appliance: an SSH server that behaves like a Cisco VOS (Finesse/CUCM) admin CLI.

Used by the toolkit's end-to-end tests and by `ops lab` for demos. Commands are handled by
modules in `ops/lab/handlers/` through `ops.lab.commands`; this module only does SSH, auth,
the banner and the prompt loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncssh

from ops.lab import faults, logtree
from ops.lab.accounts import AdminUIAccount
from ops.lab.commands import UNSUCCESSFUL, CommandContext, QuitSession, load_handlers
from ops.lab.handlers.services import DEFAULT_SERVICES
from ops.lab.logtree import LogFile
from ops.lab.options import LabConfig
from ops.lab.push import PushRecord
from ops.lab.rest.server import RestServer
from ops.lab.sshd import SshdFront
from ops.lab.terminal import Exchange, Interrupted, SessionClosed, Terminal, TtyModes
from ops.sshalgorithms import VOS_KEX
from ops.timezones import wall_time, zone

__all__ = ["LabAppliance", "LabConfig", "PushRecord", "run_forever"]

log = logging.getLogger(__name__)

BANNER = (
    "Command Line Interface is starting up, please wait ...\n"
    "\n"
    "   Welcome to the Platform Command Line Interface\n"
    "\n"
    "VMware Installation:\n"
    "\t2 vCPU: Intel(R) Xeon(R) CPU E5-4669 v4 @ 2.20GHz\n"
    "\tDisk 1: 146GB, Partitions aligned\n"
    "\t10240 Mbytes RAM\n"
    "\n"
)


@dataclass
class _Sessions:
    connections: set[asyncssh.SSHServerConnection] = field(default_factory=set)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)


class _AuthServer(asyncssh.SSHServer):
    """Password / keyboard-interactive authentication against the lab's one account."""

    def __init__(self, lab: LabAppliance) -> None:
        self._lab = lab
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._lab._sessions.connections.add(conn)
        self._lab.connections_made += 1

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._lab._sessions.connections.discard(self._conn)

    def begin_auth(self, username: str) -> bool:
        return True

    def _valid(self, username: str, password: str) -> bool:
        cfg = self._lab.config
        if "auth_failure" in cfg.faults:
            return False
        return secrets.compare_digest(username.encode(), cfg.username.encode()) and secrets.compare_digest(
            password.encode(), cfg.password.encode()
        )

    def password_auth_supported(self) -> bool:
        return "password" in self._lab.config.auth_methods

    def validate_password(self, username: str, password: str) -> bool:
        return self._valid(username, password)

    def kbdint_auth_supported(self) -> bool:
        return "keyboard-interactive" in self._lab.config.auth_methods

    def get_kbdint_challenge(
        self, username: str, lang: str, submethods: str
    ) -> tuple[str, str, str, list[tuple[str, bool]]]:
        return "", "", "", [("Password: ", False)]

    def validate_kbdint_response(self, username: str, responses: Sequence[str]) -> bool:
        return len(responses) == 1 and self._valid(username, responses[0])


class LabAppliance:
    """A running lab appliance: `async with LabAppliance(cfg) as lab:` then SSH to lab.host:lab.port."""

    def __init__(self, config: LabConfig | None = None) -> None:
        self.config = config or LabConfig()
        self.host = ""
        self.port = 0
        # Seconds the appliance's clock is ahead: as configured, else three hours under the clock_skew fault.
        self.clock_skew = self.config.clock_skew or (3 * 3600.0 if "clock_skew" in self.config.faults else 0.0)
        # The appliance's clock as it read at start: the tree is drawn and `file get` selects by it.
        self._started = time.time()  # this machine's clock at that moment: clock() runs on from `now`
        self.now = self.config.now if self.config.now is not None else self._started + self.clock_skew
        self.zone: ZoneInfo | None = zone(self.config.timezone) if self.config.timezone else None
        self.host_key: asyncssh.SSHKey = asyncssh.generate_private_key("ssh-ed25519")
        self.commands: list[str] = []
        self.connections_made = 0  # SSH connections accepted (a test counts retries with it)
        # Every line each session read, with the prompt or question it answered (ground truth
        # for tests: which answer went to which question).
        self.journals: list[list[Exchange]] = []
        self.pushes: list[PushRecord] = []
        # The appliance's own SFTP-client known hosts, keyed "ip:port".
        self.known_hosts: dict[str, asyncssh.SSHKey] = {}
        self.admin_ui = AdminUIAccount(self.config.ui_username, self.config.ui_password)
        self.services: dict[str, str] = dict(DEFAULT_SERVICES)  # name -> STARTED / STOPPED / ...
        self.webproxy_cache_generation = 0  # incremented by every `utils webproxy cache clear`
        self._temp_root: Path | None = None
        self._log_root: Path | None = Path(self.config.log_root) if self.config.log_root else None
        self._server: asyncssh.SSHAcceptor | None = None
        self._sessions = _Sessions()
        self._registry = load_handlers()
        self.rest: RestServer | None = None
        self._front: SshdFront | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def log_root(self) -> Path:
        """The activelog directory the CLI serves (generated at start() unless configured)."""
        if self._log_root is None:
            raise RuntimeError("the lab appliance has no log tree until start()")
        return self._log_root

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Create the log tree if needed and listen for SSH on host:port (0 = any free port)."""
        faults.check(self.config.faults)  # before any work: an unknown fault leaves nothing behind
        self._started = time.time()
        if self.config.now is None:
            self.now = self._started + self.clock_skew
        if self._log_root is None:
            self._temp_root = Path(tempfile.mkdtemp(prefix="ops-lab-"))
            self._log_root = self._temp_root / "activelog"
            # The same tree all day for a seed, growing by the hour like a live appliance's logs.
            await asyncio.to_thread(logtree.live_tree, self._log_root, now=self.now, seed=self.config.seed)
        else:
            self._log_root.mkdir(parents=True, exist_ok=True)
        if "refused" in self.config.faults:
            with socket.socket() as probe:
                probe.bind((host, port))
                self.host, self.port = host, probe.getsockname()[1]
            return
        served = self.host_key
        if "host_key_changed" in self.config.faults:
            served = asyncssh.generate_private_key("ssh-ed25519")
        if self.config.sshd:
            self._front = SshdFront(self)
            try:
                self.host, self.port = host, await self._front.start(host, port)
            except BaseException:
                await self.stop()
                raise
            await self._start_rest(host)
            return
        self._server = await asyncssh.listen(
            host, port,
            server_factory=lambda: _AuthServer(self),
            server_host_keys=[served],
            kex_algs=VOS_KEX,
            process_factory=self._run_session,
            line_editor=False,
            encoding=None,
            # A real appliance has no SFTP server for the admin account.
            sftp_factory=None,
            allow_scp=False,
            login_timeout=30,
            keepalive_interval=0,
        )
        self.host = host
        self.port = self._server.get_port()
        await self._start_rest(host)

    async def _start_rest(self, host: str) -> None:
        if self.config.rest:
            self.rest = RestServer(self)
            await asyncio.to_thread(self.rest.start, host, 0)

    async def stop(self) -> None:
        """Close the listener and every session, and remove a generated tree. Safe to call twice."""
        rest, self.rest = self.rest, None
        if rest is not None:
            await asyncio.to_thread(rest.stop)
        front, self._front = self._front, None
        if front is not None:
            await front.stop()
        server, self._server = self._server, None
        if server is not None:
            server.close()  # no new connections
        # Sessions go before the listener is waited for: from Python 3.12 on, wait_closed() waits
        # for every connection it accepted (CPython #79033, #104344) and would never return while
        # a client is connected. Every wait is bounded.
        for task in list(self._sessions.tasks):
            task.cancel()
        connections = list(self._sessions.connections)
        for conn in connections:
            conn.close()
        if self._sessions.tasks:
            await asyncio.wait(list(self._sessions.tasks), timeout=5)
        closing = [conn.wait_closed() for conn in connections]
        if server is not None:
            closing.append(server.wait_closed())
        if closing:
            try:
                await asyncio.wait_for(asyncio.gather(*closing, return_exceptions=True), 5)
            except TimeoutError:
                for conn in connections:
                    conn.abort()
        if self._temp_root is not None:
            shutil.rmtree(self._temp_root, ignore_errors=True)
            self._temp_root = None
            self._log_root = None

    async def __aenter__(self) -> LabAppliance:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ helpers for tests and the CLI

    @property
    def rest_port(self) -> int:
        """The HTTPS port of the Finesse and GWS APIs (0 when the REST side is off)."""
        return self.rest.port if self.rest is not None else 0

    @property
    def rest_ca_path(self) -> Path:
        """The PEM file of the CA that signed the REST certificate (removed by stop())."""
        if self.rest is None:
            raise RuntimeError("the lab appliance's REST side is not running")
        return self.rest.ca_path

    def host_key_fingerprint(self) -> str:
        """The SSH host key's fingerprint, `SHA256:...`."""
        return self.host_key.get_fingerprint("sha256")

    def known_hosts_line(self) -> str:
        """A line for an OpenSSH known_hosts file naming this appliance's address and key."""
        pub = self.host_key.export_public_key("openssh").decode().split()
        where = self.host if self.port == 22 else f"[{self.host}]:{self.port}"
        return f"{where} {pub[0]} {pub[1]}"

    def clock(self) -> float:
        """The appliance's clock now (`utils ntp status` prints it): `now` at start, running since."""
        return self.now + (time.time() - self._started)

    def local(self, when: float) -> datetime:
        """`when` as the appliance's wall clock reads it (its time zone), without a zone attached."""
        return wall_time(when, self.config.timezone)

    def files(self) -> list[LogFile]:
        """The files below activelog right now."""
        return logtree.scan(self.log_root)

    def select(self, spec: str, **kw: Any) -> list[LogFile]:
        """What `file get activelog <spec> ...` would select, using the appliance's clock."""
        kw.setdefault("now", self.now)
        abstime = kw.get("abstime")
        if abstime is not None and self.zone is not None and abstime[0].tzinfo is None:
            kw["abstime"] = (abstime[0].replace(tzinfo=self.zone), abstime[1].replace(tzinfo=self.zone))
        return logtree.select(self.log_root, spec, **kw)

    # ------------------------------------------------------------------ sessions

    def new_terminal(self, stdin: Any, stdout: Any, tty: TtyModes | None = None) -> Terminal:
        """The terminal of a new CLI session, with its own draws from the hostile profile."""
        journal: list[Exchange] = []
        self.journals.append(journal)
        hostile = None
        if self.config.hostile is not None:
            hostile = self.config.hostile.session(self.config.hostname, len(self.journals))
        return Terminal(stdin, stdout, page_lines=self.config.page_lines, output_chunk=self.config.output_chunk,
                        output_delay=self.config.output_delay, hostile=hostile, tty=tty, journal=journal,
                        secret_echo=self.config.secret_echo)

    async def _run_session(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        term = self.new_terminal(process.stdin, process.stdout)
        task = asyncio.current_task()
        if task is not None:
            self._sessions.tasks.add(task)
        try:
            if process.command is not None or process.subsystem is not None:
                # CUCM-like: only interactive shells, no exec or subsystems.
                process.stderr.write(b"Command execution is not supported; open an interactive shell.\r\n")
                process.exit(1)
                return
            await self.shell(term)
            await term.flush()
            process.exit(0)
        except (asyncio.CancelledError, Exception) as exc:  # a session's bug must never take the appliance down
            if not isinstance(exc, (SessionClosed, asyncio.CancelledError)):
                log.exception("lab session failed")
            term.flush_nowait()  # what was printed before the session ended still leaves
            process.close()
        finally:
            term.close()
            if task is not None:
                self._sessions.tasks.discard(task)

    async def _first_prompt(self, term: Terminal, prompt: str) -> None:
        """Draw the first prompt; a hostile terminal redraws it after pauses before reading anything."""
        hostile = term.hostile
        if hostile is None:
            await term.write(prompt)
            return
        await term.write(hostile.stray_ansi() + prompt)
        for pause in hostile.redraw_pauses():
            await asyncio.sleep(pause)
            await term.write("\n" + hostile.stray_ansi() + prompt)

    async def shell(self, term: Terminal) -> None:
        """The CLI: banner, prompt, commands until `quit` or the end of input."""
        hostile = term.hostile
        if hostile is not None:
            term.start()
        delay = self.config.banner_delay + (hostile.banner_delay() if hostile is not None else 0.0)
        if delay:
            await asyncio.sleep(delay)
        await term.write(BANNER)
        if "no_prompt" in self.config.faults:
            await faults.hang()
        ctx = CommandContext(term=term, lab=self)
        prompt = f"{self.config.username}:"
        await self._first_prompt(term, prompt)
        drawn = True
        while True:
            try:
                line = await term.readline("" if drawn else prompt, journal=prompt)
            except Interrupted:
                drawn = False
                continue
            drawn = False
            line = line.strip()
            if not line:
                continue
            self.commands.append(line)
            if hostile is not None and hostile.fails_read_only(line):
                await term.writeline(UNSUCCESSFUL)
                continue
            try:
                await self._registry.dispatch(ctx, line)
            except Interrupted:
                continue
            except QuitSession:
                return
            except SessionClosed:
                raise
            except Exception as exc:
                log.exception("lab command %r failed", line)
                await term.writeline(f"Internal error: {type(exc).__name__}")
                await term.writeline("Executed command unsuccessfully")


def run_forever(config: LabConfig, host: str = "127.0.0.1", port: int = 2222) -> None:
    """Serve a lab appliance until Ctrl-C (for `ops lab`), printing how to reach it."""

    async def serve() -> None:
        lab = LabAppliance(config)
        await lab.start(host, port)
        try:
            print(f"lab appliance {config.hostname} listening on {lab.host}:{lab.port}")
            print(f"  user: {config.username}  auth: {', '.join(config.auth_methods)}")
            print(f"  host key: {lab.host_key_fingerprint()}")
            print(f"  known_hosts: {lab.known_hosts_line()}")
            print(f"  activelog: {lab.log_root} ({len(lab.files())} files)")
            if lab.rest is not None:
                print(f"  rest (Finesse and GWS): https://{lab.host}:{lab.rest_port}  CA: {lab.rest_ca_path}")
                print(f"  admin UI user: {config.ui_username}  agents: ksippo, jdoe, rpatel (GWS), 1001001-1001003 "
                      "(Finesse)")
            print("Ctrl-C to stop.", flush=True)
            stop = asyncio.Event()
            # A service manager stops with SIGTERM: clean up (sessions, the generated tree) as for Ctrl-C.
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
            await stop.wait()
        finally:
            await lab.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
