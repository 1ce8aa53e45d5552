"""End-to-end tests of the lab appliance's SSH CLI: real SSH over loopback, raw asyncssh client."""

from __future__ import annotations

import asyncio
import re
import tarfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from ops.lab.logtree import LogFile
from ops.lab.server import LabAppliance, LabConfig
from ops.lab.terminal import PAGER_PROMPT as PAGER

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


# --------------------------------------------------------------------------- helpers for the dialogs

RECV_USER = "collector"
RECV_PASSWORD = "recv-Secret-77"


class _ReceiverAuth(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == RECV_USER and password == RECV_PASSWORD


@asynccontextmanager
async def receiver(root: Path, **kw: Any) -> AsyncIterator[tuple[int, asyncssh.SSHKey]]:
    """A throwaway SFTP server chrooted to `root`; yields (port, host key)."""
    root.mkdir(parents=True, exist_ok=True)
    key = kw.pop("key", None) or asyncssh.generate_private_key("ssh-ed25519")
    server = await asyncssh.listen(
        "127.0.0.1", 0, server_factory=_ReceiverAuth, server_host_keys=[key],
        sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=str(root).encode()), allow_scp=False, **kw)
    try:
        yield server.get_port(), key
    finally:
        server.close()
        await server.wait_closed()


@asynccontextmanager
async def lab_and_shell(**cfg: Any) -> AsyncIterator[tuple[LabAppliance, Shell]]:
    cfg.setdefault("now", NOW)
    async with LabAppliance(LabConfig(**cfg)) as lab, shell(lab) as sh:
        yield lab, sh


async def answer_dialog(sh: Shell, command: str, port: int, *, password: str = RECV_PASSWORD,
                        directory: str = "/", host_key: str | None = "yes") -> tuple[str, str]:
    """Drive a whole `file get` dialog; returns (text up to the download directory, the rest)."""
    sh.send(command + "\r")
    head = await sh.expect(r"Would you like to proceed \[y/n\]\? $")
    for prompt, reply in [("y", ""), (r"SFTP server IP: $", "127.0.0.1"), (r"SFTP server port \[22\]: $", str(port)),
                          (r"User ID: $", RECV_USER), (r"Password: $", password),
                          (r"Download directory: $", directory)]:
        if reply:
            head += await sh.expect(prompt)
            sh.send(reply + "\r")
        else:
            sh.send(prompt + "\r")
    tail = ""
    if host_key is not None:
        tail += await sh.expect(r"\(yes/no\)\? $")
        sh.send(host_key + "\r")
    tail += await sh.expect(r"\r\nadmin:$", timeout=15)
    return head, tail


def summary(out: str) -> tuple[int, int]:
    """(Number of files affected, Total size in Bytes) from a file get summary."""
    n = re.search(r"Number of files affected: (\d+)\r\n", out)
    b = re.search(r"Total size in Bytes: (\d+)\r\n", out)
    assert n and b, out
    return int(n.group(1)), int(b.group(1))


def assert_same_files(lab: LabAppliance, files: list[LogFile], base: Path) -> None:
    for f in files:
        assert (base / f.relpath).read_bytes() == (lab.log_root / f.relpath).read_bytes(), f.relpath


# --------------------------------------------------------------------------- CLI basics


def test_errors_empty_lines_editing_and_help() -> None:
    async def main() -> None:
        async with lab_and_shell() as (lab, sh):
            assert await sh.run("foo bar") == "Invalid command: foo\r\nExecuted command unsuccessfully\r\nadmin:"
            out = await sh.run("show bogus")
            assert out.startswith("Invalid command: bogus\r\nSyntax:\r\n")
            assert "show version active" in out and out.endswith("Executed command unsuccessfully\r\nadmin:")
            out = await sh.run("file get activelog desktop/logs reltime fortnights 2")
            assert "Syntax:\r\n  file get activelog file-spec" in out
            assert out.endswith("Executed command unsuccessfully\r\nadmin:")
            out = await sh.run("file get activelog desktop/logs abstime 25:99:13/45/13 1:00:10/21/13")
            assert "hh:mm:MM/DD/YY" in out and "Executed command unsuccessfully" in out
            assert "Syntax:" in await sh.run("file get ?")
            sh.send("\r")
            assert await sh.expect(r"admin:$") == "\r\nadmin:"
            # Backspace and an arrow key while typing: the command that runs is the edited one.
            sh.send("shpw\x7f\x7fow versio\x1b[Dn active\r")
            assert "Active Master Version" in await sh.expect(r"\r\nadmin:$")
            assert lab.commands[-1] == "show version active"
            assert "" not in lab.commands

    run(main())


def test_pagination_on_off() -> None:
    async def main() -> None:
        async with lab_and_shell(page_lines=5) as (lab, sh):
            await sh.run("set cli pagination off")
            total = (await sh.run("show network status nodns")).count("\r\n")
            await sh.run("set cli pagination on")
            assert total > 12
            sh.send("show network status nodns\r")
            first = await sh.expect(re.escape(PAGER) + "$")
            assert first.count("\r\n") == 1 + 5  # echo line + one page
            sh.send(" ")
            second = await sh.expect(re.escape(PAGER) + "$")
            assert second.startswith("\r" + " " * len(PAGER) + "\r")
            assert second.count("\r\n") == 5
            sh.send("\r")
            third = await sh.expect(re.escape(PAGER) + "$")
            assert third.count("\r\n") == 1
            sh.send("q")
            rest = await sh.expect(r"admin:$")
            assert rest.endswith("\radmin:") and rest.count("\r\n") == 0

            assert await sh.run("show cli pagination") == "Automatic Pagination : On.\r\nadmin:"
            assert await sh.run("set cli pagination off") == "Automatic Pagination : Off\r\nadmin:"
            assert await sh.run("show cli pagination") == "Automatic Pagination : Off.\r\nadmin:"
            out = await sh.run("show network status nodns")
            assert PAGER not in out and out.count("\r\n") == total

    run(main())


def test_file_list_pager_ignores_pagination_off() -> None:
    async def main() -> None:
        async with lab_and_shell(page_lines=5) as (lab, sh):
            webservices = [f for f in lab.files() if f.relpath.startswith("desktop/logs/webservices/")]
            total = len(webservices) + 1  # + the count line
            await sh.run("set cli pagination off")
            sh.send("file list activelog desktop/logs/webservices\r")
            first = await sh.expect(r"options: q=quit, n=next, p=prev, b=begin, e=end \(lines 1 - 5 of \d+\) : $")
            assert first.count("\r\n") == 1 + 5 and f"of {total})" in first
            sh.send("e")
            # The last page asks too; `q` (or `n`) leaves the pager.
            last = await sh.expect(rf"e=end \(lines \d+ - {total} of {total}\) : $")
            assert "file count" in last and last.count("\r\n") == 5
            sh.send("q")
            await sh.expect(r"admin:$")

    run(main())


def test_file_list() -> None:
    async def main() -> None:
        async with lab_and_shell(page_lines=500) as (lab, sh):
            await sh.run("set cli pagination off")
            out = await sh.run("file list activelog desktop/logs detail")
            rows = out.split("\r\n")[:-1]
            subdirs = sorted(p.name for p in (lab.log_root / "desktop/logs").iterdir() if p.is_dir())
            direct = [f for f in lab.files() if f.relpath.count("/") == 2 and f.relpath.startswith("desktop/logs/")]
            assert rows[-1] == f"dir count = {len(subdirs)}, file count = {len(direct)}"
            dir_rows = [r for r in rows if "<dir>" in r]
            assert all(re.fullmatch(r"\d\d \w{3},\d{4} \d\d:\d\d:\d\d <dir> \S+", r) for r in dir_rows), dir_rows
            assert [r.split()[-1] for r in dir_rows] == subdirs
            out = await sh.run("file list activelog desktop/logs/webservices detail date")
            rows = out.split("\r\n")[:-2]
            files = sorted((f for f in lab.files() if f.relpath.startswith("desktop/logs/webservices/")),
                           key=lambda f: f.mtime)
            assert [r.split()[-1] for r in rows] == [f.name for f in files]
            assert all(r.split()[-2] == f"{f.size:,}" for r, f in zip(rows, files, strict=True))
            assert any("," in r.split()[-2] for r in rows)  # thousands separators
            out = await sh.run("file list activelog desktop/logs/webservices reverse")
            assert out.split("\r\n")[0] == max(f.name for f in files)
            assert "Executed command unsuccessfully" in await sh.run("file list activelog no/such/dir")

    run(main())


def test_file_get_selection_matches_select() -> None:
    when = datetime.fromtimestamp(NOW)
    start = (when - timedelta(days=10)).strftime("%H:%M:%m/%d/%y")
    end = (when - timedelta(days=3)).strftime("%H:%M:%m/%d/%y")
    cases: list[tuple[str, dict[str, Any]]] = [
        ("desktop/logs/webservices reltime days 2", dict(reltime=("days", 2))),
        (f"desktop/logs/webservices/*.log abstime {start} {end}",
         dict(abstime=(datetime.strptime(start, "%H:%M:%m/%d/%y"), datetime.strptime(end, "%H:%M:%m/%d/%y")))),
        ("desktop/logs recurs match ^Openfire", dict(recurs=True, match="^Openfire")),
        ("desktop/logs/* recurs", dict(recurs=True)),
        ("desktop/logs/*", {}),
        ("match error desktop/logs/openfire compress", dict(match="error")),
    ]

    async def main() -> None:
        async with lab_and_shell() as (lab, sh):
            for command, kw in cases:
                spec = command.split()[0] if not command.startswith("match") else command.split()[2]
                expected = lab.select(spec, **kw)
                assert expected, command
                sh.send(f"file get activelog {command}\r")
                out = await sh.expect(r"Would you like to proceed \[y/n\]\? $")
                assert "Please wait while the system is gathering files info ...done.\r\n" in out
                traversed = "were traversed" if kw.get("recurs") else "were not traversed"
                assert f"Sub-directories {traversed}.\r\n" in out
                assert summary(out) == (len(expected), sum(f.size for f in expected)), command
                sh.send("n\r")
                assert await sh.expect(r"admin:$") == "n\r\nadmin:"
            assert len(lab.select("desktop/logs/* recurs".split()[0], recurs=True)) > len(lab.select("desktop/logs"))
            assert lab.pushes == []

    run(main())


def test_no_files_matched_asks_nothing() -> None:
    async def main() -> None:
        async with lab_and_shell() as (_lab, sh):
            out = await sh.run("file get activelog desktop/logs recurs match ^nothing-like-this$")
            assert out == ("Please wait while the system is gathering files info ...done.\r\n"
                           "No files matched the criteria.\r\nadmin:")

    run(main())


# --------------------------------------------------------------------------- the SFTP push


def test_full_dialog_pushes_identical_files(tmp_path: Path) -> None:
    async def main() -> None:
        async with lab_and_shell() as (lab, sh), receiver(tmp_path / "recv") as (port, key):
            expected = lab.select("desktop/logs/webservices", reltime=("days", 2))
            head, tail = await answer_dialog(sh, "file get activelog desktop/logs/webservices reltime days 2", port)
            assert head.endswith(
                "Would you like to proceed [y/n]? y\r\n\r\nSFTP server IP: 127.0.0.1\r\n"
                f"SFTP server port [22]: {port}\r\nUser ID: {RECV_USER}\r\n"
                f"Password: {'*' * len(RECV_PASSWORD)}\r\nDownload directory: ")
            assert tail.startswith(
                "/\r\n\r\nThe authenticity of host '127.0.0.1 (127.0.0.1)' can't be established.\r\n"
                f"ED25519 key fingerprint is {key.get_fingerprint('sha256')}.\r\n"
                "Are you sure you want to continue connecting (yes/no)? ")
            assert tail.endswith("\r\n" + "." * len(expected) + "\r\nTransfer completed.\r\nadmin:")
            assert RECV_PASSWORD not in head + tail
            assert_same_files(lab, expected, tmp_path / "recv")
            received = sorted(p.relative_to(tmp_path / "recv").as_posix()
                              for p in (tmp_path / "recv").rglob("*") if p.is_file())
            assert received == [f.relpath for f in expected]
            [push] = lab.pushes
            assert push.ok and push.port == port and push.username == RECV_USER and list(push.files) == expected
            assert RECV_PASSWORD not in repr(push)

            # The key is known now: no question the second time, and existing directories are fine.
            (lab.log_root / "desktop/logs/webservices/Desktop-webservices.new.log").write_bytes(b"fresh line\n")
            _head, tail = await answer_dialog(sh, "file get activelog desktop/logs/webservices match new",
                                              port, host_key=None)
            assert "authenticity" not in tail and tail.endswith(".\r\nTransfer completed.\r\nadmin:")
            fresh = tmp_path / "recv/desktop/logs/webservices/Desktop-webservices.new.log"
            assert fresh.read_bytes() == b"fresh line\n"

    run(main())


def test_host_key_refused_and_wrong_password_and_no_server(tmp_path: Path) -> None:
    async def main() -> None:
        async with lab_and_shell() as (lab, sh), receiver(tmp_path / "recv") as (port, _key):
            command = "file get activelog desktop/logs/dbalerter"
            _head, tail = await answer_dialog(sh, command, port, host_key="no")
            assert "Host key verification failed.\r\nExecuted command unsuccessfully\r\nadmin:" in tail
            assert lab.known_hosts == {}
            _head, tail = await answer_dialog(sh, command, port, password="wrong-password")
            assert "Authentication failed" in tail and tail.endswith("Executed command unsuccessfully\r\nadmin:")
            assert "wrong-password" not in tail
            assert not (tmp_path / "recv" / "desktop").exists()
            assert [p.ok for p in lab.pushes] == [False, False]
        closed = port  # the receiver is gone now
        async with lab_and_shell() as (lab, sh):
            _head, tail = await answer_dialog(sh, "file get activelog desktop/logs/dbalerter", closed, host_key=None)
            assert "Could not connect to the SFTP server" in tail
            assert tail.endswith("Executed command unsuccessfully\r\nadmin:")

    run(main())


def test_nested_layout(tmp_path: Path) -> None:
    async def main() -> None:
        async with lab_and_shell(nested_layout=True, hostname="finesse-b") as (lab, sh), \
                receiver(tmp_path / "recv") as (port, _key):
            expected = lab.select("desktop/logs/realm")
            await answer_dialog(sh, "file get activelog desktop/logs/realm", port, directory="/drop")
            [stamp_dir] = (tmp_path / "recv/drop/finesse-b").iterdir()
            assert re.fullmatch(r"\d{14}", stamp_dir.name)
            assert_same_files(lab, expected, stamp_dir / "activelog")

    run(main())


def test_compress_pushes_one_tgz(tmp_path: Path) -> None:
    async def main() -> None:
        async with lab_and_shell() as (lab, sh), receiver(tmp_path / "recv") as (port, _key):
            expected = lab.select("desktop/logs", recurs=True, reltime=("days", 2))
            _head, tail = await answer_dialog(
                sh, "file get activelog desktop/logs compress reltime days 2 recurs", port, directory="out")
            assert tail.endswith("\r\n.\r\nTransfer completed.\r\nadmin:")
            [archive] = (tmp_path / "recv/out").iterdir()
            assert re.fullmatch(r"finesse-a_\d{14}_activelog\.tgz", archive.name)
            with tarfile.open(archive) as tar:
                names = sorted(m.name for m in tar.getmembers() if m.isfile())
                assert names == [f"activelog/{f.relpath}" for f in expected]
                first = tar.extractfile(names[0])
                assert first is not None and first.read() == (lab.log_root / expected[0].relpath).read_bytes()
            assert lab.pushes[-1].compressed

    run(main())


# --------------------------------------------------------------------------- auth, channels, robustness


def test_keyboard_interactive_only() -> None:
    async def main() -> None:
        async with LabAppliance(LabConfig(now=NOW, auth_methods=("keyboard-interactive",))) as lab:
            with pytest.raises(asyncssh.PermissionDenied):
                async with shell(lab, preferred_auth=["password"]):
                    pass
            with pytest.raises(asyncssh.PermissionDenied):
                async with shell(lab, password="not-it"):
                    pass
            async with shell(lab, preferred_auth=["keyboard-interactive"]) as sh:
                assert "12.6.1.10000-5" in await sh.run("show version active")

    run(main())


def test_exec_refused_and_bad_password() -> None:
    async def main() -> None:
        async with LabAppliance(LabConfig(now=NOW)) as lab:
            with pytest.raises(asyncssh.PermissionDenied):
                async with shell(lab, password="wrong"):
                    pass
            async with asyncssh.connect(lab.host, lab.port, username="admin", password=lab.config.password,
                                        known_hosts=None, client_keys=None, agent_path=None, config=None) as conn:
                result = await conn.run("show version active")
                assert result.exit_status != 0 and "Active Master" not in str(result.stdout)

    run(main())


def test_concurrent_sessions_slow_output_ctrl_c_and_stop() -> None:
    async def main() -> None:
        lab = LabAppliance(LabConfig(now=NOW, output_chunk=7, output_delay=0.001, banner_delay=0.05))
        await lab.start()
        root = lab.log_root
        async with shell(lab) as one, shell(lab) as two:
            one.send("file get activelog desktop/logs/realm\r")
            await one.expect(r"\[y/n\]\? $")
            one.send("y\r")
            await one.expect(r"SFTP server IP: $")
            # Odd input in one session does not disturb the other.
            two.send("\x00\x01\xff garbage \t\r")
            assert "Executed command unsuccessfully" in await two.expect(r"admin:$")
            assert "Active Master" in await two.run("show version active")
            one.send("\x03")
            assert (await one.expect(r"admin:$")).endswith("^C\r\nadmin:")
            assert "Active Master" in await one.run("show version active")
            one.send("quit\r")
            with pytest.raises(EOFError):
                await one.expect("never")
            assert len(await asyncio.wait_for(two.run("show myself"), 60)) > 0
            await lab.stop()
            with pytest.raises(EOFError):
                await two.expect("never")
        await lab.stop()
        assert not root.exists()

    run(main())


def test_known_hosts_line_and_fingerprint() -> None:
    async def main() -> None:
        async with LabAppliance(LabConfig(now=NOW)) as lab:
            line = lab.known_hosts_line()
            assert line.startswith(f"[127.0.0.1]:{lab.port} ssh-ed25519 AAAA")
            assert lab.host_key_fingerprint().startswith("SHA256:")
            known = asyncssh.import_known_hosts(line + "\n")
            async with shell(lab, known_hosts=known) as sh:
                assert "admin" in await sh.run("show myself")

    run(main())


@pytest.mark.filterwarnings("ignore:Diffie-Hellman over finite fields")
def test_legacy_sftp_client_and_changed_host_key(tmp_path: Path) -> None:
    async def main() -> None:
        rsa = asyncssh.generate_private_key("ssh-rsa", key_size=2048)
        async with lab_and_shell(sftp_legacy_only=True) as (lab, sh):
            # A modern-only receiver cannot talk to the legacy client.
            async with receiver(tmp_path / "modern", key=rsa, kex_algs=["curve25519-sha256"]) as (port, _key):
                _head, tail = await answer_dialog(sh, "file get activelog desktop/logs/dbalerter", port, host_key=None)
                assert "Could not connect to the SFTP server" in tail
            # asyncssh, like OpenSSH, leaves CBC ciphers out by default: a receiver must enable them.
            legacy = dict(kex_algs=["curve25519-sha256", "diffie-hellman-group14-sha1"],
                          encryption_algs=["aes128-ctr", "aes128-cbc"], mac_algs=["hmac-sha2-256", "hmac-sha1"])
            async with receiver(tmp_path / "legacy", key=rsa, **legacy) as (port, _key):
                expected = lab.select("desktop/logs/dbalerter")
                _head, tail = await answer_dialog(sh, "file get activelog desktop/logs/dbalerter", port)
                assert "RSA key fingerprint is SHA256:" in tail and "Transfer completed." in tail
                assert_same_files(lab, expected, tmp_path / "legacy")
                lab.known_hosts[f"127.0.0.1:{port}"] = asyncssh.generate_private_key("ssh-rsa", key_size=1024)
                _head, tail = await answer_dialog(sh, "file get activelog desktop/logs/dbalerter", port, host_key=None)
                assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in tail and "Host key verification failed." in tail
                assert tail.endswith("Executed command unsuccessfully\r\nadmin:")

    run(main())


def test_push_pipelines_big_files_whole_into_the_receiver(tmp_path: Path) -> None:
    """The lab's SFTP push (OPEN, WRITE in flight, CLOSE) delivers multi-block files byte for byte."""
    import hashlib
    import os

    from ops.lab.push import BLOCK, IN_FLIGHT, PushTarget, push
    from ops.receiver import Receiver

    sizes = {"big.log": BLOCK * IN_FLIGHT * 2 + 12345, "one-block.log": BLOCK, "empty.log": 0}
    for name, size in sizes.items():
        (tmp_path / name).write_bytes(os.urandom(size))

    async def body() -> None:
        async with Receiver(tmp_path / "recv", listen_host="127.0.0.1") as receiver:
            account = receiver.add_account("lab")

            async def trust(_key: asyncssh.SSHKey) -> None:
                return None
            target = PushTarget("127.0.0.1", receiver.port, account.username, "in")
            await push(target, account.password.reveal(), trust,
                       [(tmp_path / name, f"in/{name}") for name in sizes], legacy=False)
            got = {e.path: (e.size, e.sha256) for e in receiver.manifest("lab")}
        assert got == {f"in/{name}": (size, hashlib.sha256((tmp_path / name).read_bytes()).hexdigest())
                       for name, size in sizes.items()}

    asyncio.run(asyncio.wait_for(body(), 60))


def test_key_exchange_is_an_appliances_not_asyncssh_post_quantum_default(tmp_path: Path) -> None:
    """A real node's OpenSSH offers no mlkem768x25519/sntrup761: a client asking only for those is
    refused by the lab, and the lab's SFTP push cannot reach a receiver offering only those."""
    pq = [alg for alg in ("mlkem768x25519-sha256", "sntrup761x25519-sha512")
          if alg.encode() in asyncssh.kex.get_kex_algs()]
    from ops.lab.push import VOS_KEX

    assert not [alg for alg in VOS_KEX if "mlkem" in alg or "sntrup" in alg]  # never offered, whatever asyncssh has
    if not pq:
        return  # an asyncssh without them (the minimum versions) cannot be asked for them: nothing to refuse

    async def main() -> None:
        async with LabAppliance(LabConfig(now=NOW)) as lab:
            options: dict[str, Any] = dict(username="admin", password=lab.config.password, known_hosts=None,
                                           client_keys=None, agent_path=None, config=None)
            with pytest.raises(asyncssh.KeyExchangeFailed):
                async with asyncssh.connect(lab.host, lab.port, kex_algs=pq, **options):
                    pass
            async with asyncssh.connect(lab.host, lab.port, kex_algs=["curve25519-sha256"], **options):
                pass
        async with lab_and_shell() as (lab, sh), receiver(tmp_path / "pq", kex_algs=pq) as (port, _key):
            _head, tail = await answer_dialog(sh, "file get activelog desktop/logs/dbalerter", port, host_key=None)
            assert "Could not connect to the SFTP server" in tail

    run(main())
