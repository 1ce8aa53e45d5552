"""The built-in SFTP receiver, driven by asyncssh's SFTP client over loopback."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import asyncssh
import pytest

from ops.receiver import Account, ManifestEntry, Receiver, ReceiverError, uploads
from ops.receiver.accounts import Accounts
from ops.receiver.session import RECV_SIZE

T = TypeVar("T")


def run(coro: Awaitable[T], timeout: float = 20.0) -> T:
    """Run one async test body with a hard ceiling, so a hang fails instead of stalling."""
    async def bounded() -> T:
        return await asyncio.wait_for(coro, timeout)
    return asyncio.run(bounded())


async def connect(receiver: Receiver, account: Account, *, password: str | None = None,
                  **kwargs: Any) -> asyncssh.SSHClientConnection:
    """A client connection that ignores the user's ssh config, keys and agent."""
    return await asyncssh.connect(
        "127.0.0.1", receiver.port, username=account.username,
        password=account.password.reveal() if password is None else password,
        known_hosts=None, client_keys=None, agent_path=None, config=None,
        preferred_auth="password", **kwargs)


@contextlib.asynccontextmanager
async def sftp_session(receiver: Receiver, host: str = "h") -> AsyncIterator[asyncssh.SFTPClient]:
    """An SFTP client logged in to a fresh account of `host` on `receiver`."""
    async with await connect(receiver, receiver.add_account(host)) as conn, conn.start_sftp_client() as sftp:
        yield sftp


async def eventually(check: Callable[[], bool], timeout: float = 3.0) -> bool:
    """Poll `check` until true or `timeout` (teardown on the server side is asynchronous)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def all_files(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())


def test_upload_nested_manifest_and_json(tmp_path: Path) -> None:
    payload = os.urandom(300_000)
    small = b"2026-11-25 10:00:00 INFO started\n"

    async def body() -> None:
        async with Receiver(tmp_path / "recv") as receiver:
            account = receiver.add_account("finesse-a")
            assert account.directory == (tmp_path / "recv" / "finesse-a").resolve()
            assert account.username.startswith("ops-")
            async with await connect(receiver, account) as conn, conn.start_sftp_client() as sftp:
                await sftp.makedirs("finesse-a/20261125/activelog/desktop/logs/webservices")
                target = "finesse-a/20261125/activelog/desktop/logs/webservices/Desktop-webservices.log"
                async with sftp.open(target, "wb") as fh:
                    for i in range(0, len(payload), 65536):
                        await fh.write(payload[i:i + 65536], i)
                async with sftp.open("/top.log", "wb") as fh:
                    await fh.write(small)
                assert await sftp.realpath(".") == "/"
                names = await sftp.listdir("/")
                assert sorted(n for n in names if n not in (".", "..")) == ["finesse-a", "top.log"]
                # A client may read back what it sent.
                async with sftp.open("/top.log", "rb") as fh:
                    assert await fh.read() == small

            manifest = receiver.manifest("finesse-a")
            assert manifest == [
                ManifestEntry(target, len(payload), hashlib.sha256(payload).hexdigest()),
                ManifestEntry("top.log", len(small), hashlib.sha256(small).hexdigest()),
            ]
            assert receiver.stats("finesse-a") == (2, len(payload) + len(small))
            assert (account.directory / target).read_bytes() == payload
            assert all_files(account.directory) == sorted([target, "top.log"])  # no temp files left

            out = tmp_path / "out" / "manifest.json"
            receiver.write_manifest("finesse-a", out)
            assert json.loads(out.read_text()) == [
                {"path": e.path, "size": e.size, "sha256": e.sha256} for e in manifest]
            assert [p.name for p in out.parent.iterdir()] == ["manifest.json"]
            assert receiver.manifest("unknown-host") == []
            assert receiver.stats("unknown-host") == (0, 0)

    run(body())


def test_out_of_order_writes_hash_the_whole_file(tmp_path: Path) -> None:
    async def body() -> None:
        async with Receiver(tmp_path) as receiver:
            async with sftp_session(receiver) as sftp:
                async with sftp.open("f", "wb") as fh:
                    await fh.write(b"world", 5)
                    await fh.write(b"hello", 0)
            assert receiver.manifest("h") == [ManifestEntry("f", 10, hashlib.sha256(b"helloworld").hexdigest())]

    run(body())


@pytest.mark.parametrize("how", ["connection-dropped", "sftp-session-closed", "receiver-stopped"])
def test_partial_upload_never_appears(tmp_path: Path, how: str) -> None:
    async def body() -> None:
        receiver = Receiver(tmp_path / "recv")
        await receiver.start()
        try:
            account = receiver.add_account("h")
            conn = await connect(receiver, account)
            sftp = await conn.start_sftp_client()
            fh = await sftp.open("partial.log", "wb")
            await fh.write(b"x" * 200_000, 0)
            temps = [p.name for p in account.directory.iterdir()]
            assert len(temps) == 1 and temps[0].startswith(".partial.log.part-")
            assert receiver.stats("h") == (0, 200_000)
            # Neither the temp name nor the final one is listed while the upload is open.
            assert [n for n in await sftp.listdir("/") if n not in (".", "..")] == []
            if how == "connection-dropped":
                conn.abort()
            elif how == "sftp-session-closed":
                # The channel closes but the connection stays: asyncssh's teardown path alone.
                sftp.exit()
                await sftp.wait_closed()
            else:
                await receiver.stop()
            assert await eventually(lambda: not any(account.directory.iterdir()))
            assert receiver.manifest("h") == []
            assert receiver.stats("h") == (0, 0)
            conn.abort()
        finally:
            await receiver.stop()

    run(body())


@pytest.mark.parametrize("teardown_recognised", [True, False], ids=["teardown-recognised", "lost-connection-only"])
def test_an_appliance_push_dropped_mid_file_delivers_only_whole_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    teardown_recognised: bool) -> None:
    """The appliance's SFTP client (the lab's, with its sftp_disconnect fault) pushes three files
    and loses its connection halfway through the last: the two whole files are delivered, the
    half one is neither on disk under any name nor in the manifest. Without recognising asyncssh's
    teardown (as if a newer asyncssh renamed it) the lost connection alone must still abort it."""
    from ops.lab.push import PushError, PushTarget, push
    from ops.receiver import jail

    if not teardown_recognised:
        monkeypatch.setattr(jail, "closing_during_teardown", lambda: False)
    source = tmp_path / "src"
    source.mkdir()
    sizes = {"a.log": 1_000, "b.log": 70_000, "c.log": 300_000}
    for name, size in sizes.items():
        (source / name).write_bytes(os.urandom(size))

    async def trust(key: asyncssh.SSHKey) -> None:
        return None

    async def body() -> None:
        async with Receiver(tmp_path / "recv") as receiver:
            account = receiver.add_account("h")
            target = PushTarget("127.0.0.1", receiver.port, account.username, "/")
            with pytest.raises(PushError, match="connection lost"):
                await push(target, account.password.reveal(), trust,
                           [(source / name, f"/logs/{name}") for name in sizes], legacy=False,
                           drop_in_last_file=True)
            # The receiver tears the session down in its own time: the temp file goes either way.
            logs = account.directory / "logs"
            assert await eventually(lambda: not [p for p in logs.iterdir() if ".part-" in p.name])
            assert sorted(p.name for p in logs.iterdir()) == ["a.log", "b.log"]
            assert receiver.manifest("h") == [
                ManifestEntry(f"logs/{name}", sizes[name], hashlib.sha256((source / name).read_bytes()).hexdigest())
                for name in ("a.log", "b.log")]
            assert receiver.stats("h") == (2, sizes["a.log"] + sizes["b.log"])

    run(body())


def test_a_nul_byte_in_a_name_is_refused_for_that_reason(tmp_path: Path) -> None:
    async def body() -> None:
        async with Receiver(tmp_path) as receiver, sftp_session(receiver) as sftp:
            for refused in (lambda: sftp.open("bad\0name.log", "wb"), lambda: sftp.mkdir("bad\0dir"),
                            lambda: sftp.stat("bad\0name"), lambda: sftp.listdir("bad\0dir")):
                with pytest.raises(asyncssh.SFTPFailure) as excinfo:
                    await refused()
                # SFTP v3 has no code for an invalid name: FX_FAILURE with the receiver's reason.
                assert (excinfo.value.code, excinfo.value.reason) == (asyncssh.FX_FAILURE,
                                                                      "file name contains a NUL byte")
            assert list(tmp_path.joinpath("h").iterdir()) == []

    run(body())


def test_stop_during_a_fast_transfer_leaves_nothing(tmp_path: Path) -> None:
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(8 * 1024 * 1024))

    async def body() -> None:
        receiver = Receiver(tmp_path / "recv")
        await receiver.start()
        account = receiver.add_account("h")
        conn = await connect(receiver, account)
        try:
            sftp = await conn.start_sftp_client()
            put = asyncio.create_task(sftp.put(str(src), "big.bin", block_size=256 * 1024))
            assert await eventually(lambda: receiver.stats("h")[1] > 0, timeout=5)
            await receiver.stop()
            with pytest.raises((asyncssh.Error, OSError)):
                await put
            assert list(account.directory.iterdir()) == []
            assert receiver.manifest("h") == []
        finally:
            conn.abort()
            await receiver.stop()

    run(body())


def test_quotas_refuse_with_clear_error(tmp_path: Path) -> None:
    async def body() -> None:
        async with Receiver(tmp_path, max_bytes_per_account=1000, max_files_per_account=2) as receiver:
            async with sftp_session(receiver) as sftp:
                async with sftp.open("a", "wb") as fh:
                    await fh.write(b"a" * 600)
                with pytest.raises(asyncssh.SFTPFailure, match="quota exceeded"):
                    async with sftp.open("b", "wb") as fh:
                        await fh.write(b"b" * 600)
                # A file that had a write refused is discarded, never listed as received.
                names = await sftp.listdir("/")
                assert "b" not in names and not (tmp_path / "h" / "b").exists()
                async with sftp.open("c", "wb") as fh:
                    await fh.write(b"c" * 400)  # exactly up to the byte quota
                with pytest.raises(asyncssh.SFTPFailure, match="quota exceeded"):
                    await sftp.open("d", "wb")  # third file: over the file quota
            assert [e.path for e in receiver.manifest("h")] == ["a", "c"]
            assert receiver.stats("h") == (2, 1000)
            assert sorted(p.name for p in (tmp_path / "h").iterdir()) == ["a", "c"]

    run(body())


def test_accounts_are_confined_to_their_own_directories(tmp_path: Path) -> None:
    async def body() -> None:
        async with Receiver(tmp_path / "recv") as receiver:
            a = receiver.add_account("finesse-a")
            b = receiver.add_account("finesse-b")
            async with await connect(receiver, a) as conn, conn.start_sftp_client() as sftp:
                async with sftp.open("secret-a.log", "wb") as fh:
                    await fh.write(b"A")
            async with await connect(receiver, b) as conn, conn.start_sftp_client() as sftp:
                assert [n for n in await sftp.listdir("/") if n not in (".", "..")] == []
                for probe in ("/secret-a.log", "/finesse-a/secret-a.log"):
                    with pytest.raises(asyncssh.SFTPNoSuchFile):
                        await sftp.stat(probe)
                for probe in ("../finesse-a/secret-a.log", "/../finesse-a", "x/../../finesse-a"):
                    with pytest.raises(asyncssh.SFTPPermissionDenied):
                        await sftp.stat(probe)
                    with pytest.raises(asyncssh.SFTPPermissionDenied):
                        await sftp.open(probe, "wb")
                    with pytest.raises(asyncssh.SFTPPermissionDenied):
                        await sftp.listdir(probe)
                # a's password does not open b's account and vice versa
            with pytest.raises(asyncssh.PermissionDenied):
                await connect(receiver, b, password=a.password.reveal())
            assert receiver.manifest("finesse-b") == []
            assert [e.path for e in receiver.manifest("finesse-a")] == ["secret-a.log"]

    run(body())


def test_preexisting_symlinks_are_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd").write_text("root:x:0:0\n")

    async def body() -> None:
        async with Receiver(tmp_path / "recv") as receiver:
            account = receiver.add_account("h")
            (account.directory / "escape").symlink_to(outside)
            (account.directory / "file-link").symlink_to(outside / "passwd")
            async with await connect(receiver, account) as conn, conn.start_sftp_client() as sftp:
                for path in ("escape/passwd", "file-link", "escape"):
                    with pytest.raises(asyncssh.SFTPPermissionDenied):
                        await sftp.stat(path)
                    with pytest.raises(asyncssh.SFTPPermissionDenied):
                        await sftp.open(path, "rb")
                with pytest.raises(asyncssh.SFTPPermissionDenied):
                    await sftp.open("escape/new", "wb")
                with pytest.raises(asyncssh.SFTPPermissionDenied):
                    await sftp.listdir("escape")
                with pytest.raises(asyncssh.SFTPPermissionDenied):
                    await sftp.readlink("file-link")
                with pytest.raises(asyncssh.SFTPPermissionDenied):
                    await sftp.symlink("/", "another")
                with pytest.raises(asyncssh.SFTPPermissionDenied):
                    await sftp.link("file-link", "hard")
            assert sorted(p.name for p in outside.iterdir()) == ["passwd"]

    run(body())


def test_a_made_directory_replaced_by_a_symlink_after_a_rename_is_not_followed(tmp_path: Path) -> None:
    """The receiver skips lstat for directories it made itself; a rename forgets them all."""
    outside = tmp_path / "outside"
    outside.mkdir()

    async def body() -> None:
        async with Receiver(tmp_path / "recv") as receiver:
            account = receiver.add_account("h")
            async with await connect(receiver, account) as conn, conn.start_sftp_client() as sftp:
                await sftp.mkdir("logs")
                async with sftp.open("logs/a.log", "wb") as f:
                    await f.write(b"a")
                await sftp.rename("logs", "moved")
                (account.directory / "logs").symlink_to(outside)  # planted by someone else
                with pytest.raises(asyncssh.SFTPPermissionDenied):
                    await sftp.open("logs/b.log", "wb")
                await sftp.mkdir("moved/deeper")
                async with sftp.open("moved/deeper/c.log", "wb") as f:
                    await f.write(b"c")
            assert list(outside.iterdir()) == []
            assert (account.directory / "moved" / "a.log").read_bytes() == b"a"
            assert (account.directory / "moved" / "deeper" / "c.log").read_bytes() == b"c"

    run(body())


def test_rename_stays_inside_and_never_overwrites(tmp_path: Path) -> None:
    async def body() -> None:
        async with Receiver(tmp_path / "recv") as receiver:
            account = receiver.add_account("h")
            async with await connect(receiver, account) as conn, conn.start_sftp_client() as sftp:
                for name in ("one.filepart", "two"):
                    async with sftp.open(name, "wb") as fh:
                        await fh.write(name.encode())
                await sftp.rename("one.filepart", "one")
                await sftp.mkdir("d")
                await sftp.rename("one", "d/one")
                await sftp.rename("d", "e")
                with pytest.raises(asyncssh.SFTPFailure):
                    await sftp.rename("two", "e/one")
                with pytest.raises(asyncssh.SFTPFailure):
                    await sftp.posix_rename("two", "e/one")
                with pytest.raises(asyncssh.SFTPPermissionDenied):
                    await sftp.rename("two", "../two")
                with pytest.raises(asyncssh.SFTPFailure):  # overwrite by reopening for write
                    await sftp.open("two", "wb")
                with pytest.raises(asyncssh.SFTPPermissionDenied):
                    await sftp.remove("two")
            assert [e.path for e in receiver.manifest("h")] == ["e/one", "two"]
            assert (account.directory / "e" / "one").read_bytes() == b"one.filepart"
            assert not (tmp_path / "two").exists()

    run(body())


@pytest.mark.filterwarnings("ignore:Diffie-Hellman over finite fields")
def test_legacy_algorithms_only_when_enabled(tmp_path: Path) -> None:
    # What an old VOS SFTP client offers (Cisco bug CSCux74884).
    legacy: dict[str, Any] = {"kex_algs": ["diffie-hellman-group14-sha1"], "encryption_algs": ["aes128-cbc"],
              "mac_algs": ["hmac-sha1"], "server_host_key_algs": ["ssh-rsa"]}

    async def body() -> None:
        async with Receiver(tmp_path / "modern") as receiver:
            account = receiver.add_account("h")
            with pytest.raises((asyncssh.KeyExchangeFailed, asyncssh.DisconnectError)):
                await connect(receiver, account, **legacy)
            async with await connect(receiver, account) as conn:  # modern clients still fine
                assert conn.get_extra_info("server_version")
        async with Receiver(tmp_path / "legacy", legacy_algorithms=True) as receiver:
            account = receiver.add_account("h")
            assert any(k.startswith("ssh-rsa") for k in receiver.host_key_fingerprints)
            async with await connect(receiver, account, **legacy) as conn, conn.start_sftp_client() as sftp:
                async with sftp.open("f", "wb") as fh:
                    await fh.write(b"legacy")
            assert [e.path for e in receiver.manifest("h")] == ["f"]

    run(body())


def test_idle_connections_are_closed(tmp_path: Path) -> None:
    async def body() -> None:
        async with Receiver(tmp_path, idle_timeout=0.3) as receiver:
            account = receiver.add_account("h")
            conn = await connect(receiver, account)
            # Closed after 0.3 s; the bound only ends a test that would otherwise hang (a loaded machine).
            await asyncio.wait_for(conn.wait_closed(), 60)

    run(body())


def test_no_shell_or_exec(tmp_path: Path) -> None:
    async def body() -> None:
        async with Receiver(tmp_path) as receiver:
            account = receiver.add_account("h")
            async with await connect(receiver, account) as conn:
                with pytest.raises((asyncssh.ChannelOpenError, asyncssh.ProcessError)):
                    result = await conn.run("id", check=True, timeout=5)
                    # Some servers accept the channel but run nothing: that must not succeed.
                    assert result.exit_status != 0

    run(body())


def test_remove_account_revokes_access(tmp_path: Path) -> None:
    async def body() -> None:
        async with Receiver(tmp_path) as receiver:
            account = receiver.add_account("h")
            conn = await connect(receiver, account)
            receiver.remove_account(account.username)
            await asyncio.wait_for(conn.wait_closed(), 60)
            with pytest.raises(asyncssh.PermissionDenied):
                await connect(receiver, account)
            with pytest.raises(ReceiverError):
                receiver.remove_account(account.username)

    run(body())


def test_listen_address_and_host_validation(tmp_path: Path) -> None:
    async def body() -> None:
        receiver = Receiver(tmp_path, listen_host="0.0.0.0")
        with pytest.raises(ReceiverError, match="advertised_host"):
            await receiver.start()
        with pytest.raises(ReceiverError):
            _ = receiver.port
        async with Receiver(tmp_path, listen_host="0.0.0.0", advertised_host="192.0.2.10") as receiver:
            assert receiver.advertised_host == "192.0.2.10"
            assert receiver.port > 0
            assert receiver.host_key_fingerprint.startswith("SHA256:")
        async with Receiver(tmp_path) as receiver:
            assert receiver.advertised_host == "127.0.0.1"
            for bad in ("", "..", "a/b", "../x", "a\0b", ".hidden"):
                with pytest.raises(ReceiverError):
                    receiver.add_account(bad)
            # With an explicit directory the host is only a label.
            labelled = receiver.add_account("Finesse A/side B", directory=tmp_path / "custom" / "dir")
            assert labelled.directory == (tmp_path / "custom" / "dir").resolve()
            assert labelled.directory.is_dir()
        await receiver.stop()  # idempotent

    run(body())


def test_password_never_shown(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("asyncssh").setLevel(logging.DEBUG)
    asyncssh.set_debug_level(2)

    async def body() -> str:
        async with Receiver(tmp_path) as receiver:
            account = receiver.add_account("h")
            secret = account.password.reveal()
            texts = [repr(account), str(account), repr(receiver), f"{account.password}"]
            async with await connect(receiver, account) as conn, conn.start_sftp_client() as sftp:
                async with sftp.open("f", "wb") as fh:
                    await fh.write(b"data")
            with pytest.raises(asyncssh.PermissionDenied) as excinfo:
                await connect(receiver, account, password=secret + "x")
            texts.append(str(excinfo.value))
            for text in texts:
                assert secret not in text
            return secret

    try:
        secret = run(body())
    finally:
        asyncssh.set_debug_level(1)
        logging.getLogger("asyncssh").setLevel(logging.NOTSET)
    assert caplog.records and secret not in caplog.text


@pytest.mark.timeout(600)
def test_many_small_writes_are_stored_and_hashed_in_order(tmp_path: Path) -> None:
    import hashlib
    import os

    payload = os.urandom(6 * 1024 * 1024 + 123)
    source = tmp_path / "src.bin"
    source.write_bytes(payload)

    async def body() -> None:
        async with Receiver(tmp_path / "recv") as receiver:
            account = receiver.add_account("h")
            async with await connect(receiver, account) as conn, conn.start_sftp_client() as sftp:
                # 1 KiB writes: thousands of chunks per flush, more than one pwritev may take.
                await sftp.put(str(source), "/small.bin", block_size=1024)
            (entry,) = receiver.manifest("h")
            assert entry.size == len(payload) and entry.sha256 == hashlib.sha256(payload).hexdigest()
            assert (account.directory / "small.bin").read_bytes() == payload

    run(body(), timeout=500)  # 6,000 round trips: seconds here, minutes on a starved machine


def server_read_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every socket read the receiver's connections make (asyncio's transport.max_size)."""
    from asyncio import selector_events

    sizes: list[int] = []
    original = selector_events._SelectorSocketTransport._read_ready__data_received

    def spy(self: Any) -> None:
        if getattr(self._protocol, "is_server", lambda: False)():
            sizes.append(self.max_size)
        original(self)
    monkeypatch.setattr(selector_events._SelectorSocketTransport, "_read_ready__data_received", spy)
    return sizes


def test_client_sockets_are_read_in_small_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The receive tuning (see RECV_SIZE) reaches asyncio's transport: if asyncssh renames its
    private `_transport`, this fails instead of throughput silently dropping by a quarter."""
    sizes = server_read_sizes(monkeypatch)

    async def body() -> None:
        async with Receiver(tmp_path) as receiver:
            async with sftp_session(receiver) as sftp:
                async with sftp.open("f", "wb") as fh:
                    await fh.write(b"x" * 100_000)
            assert [e.size for e in receiver.manifest("h")] == [100_000]

    run(body())
    assert sizes and set(sizes) == {RECV_SIZE} and RECV_SIZE < 256 * 1024


def test_a_rewrite_lands_after_the_batch_still_being_written(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """In-order writes go to disk in batches from a worker thread; a later out-of-order write to
    the same bytes must land after the batch, however slow the batch is."""
    import time

    slow_store = uploads.store_chunks

    def slowly(*args: Any) -> None:
        time.sleep(0.3)  # the batch is still on its way to disk when the rewrite arrives
        slow_store(*args)
    monkeypatch.setattr(uploads, "store_chunks", slowly)
    first = os.urandom(2 * 1024 * 1024)
    tail = b"\xff" * 65536
    want = first[:-len(tail)] + tail

    async def body() -> None:
        async with Receiver(tmp_path) as receiver:
            async with sftp_session(receiver) as sftp:
                async with sftp.open("f", "wb") as fh:
                    await fh.write(first, 0)
                    await fh.write(tail, len(first) - len(tail))
            assert (tmp_path / "h" / "f").read_bytes() == want
            assert receiver.manifest("h") == [ManifestEntry("f", len(want), hashlib.sha256(want).hexdigest())]

    run(body())


def test_a_file_over_quota_with_data_still_gathered_is_discarded_on_close(tmp_path: Path) -> None:
    async def body() -> None:
        async with Receiver(tmp_path, max_bytes_per_account=100_000) as receiver:
            async with sftp_session(receiver) as sftp:
                fh = await sftp.open("f", "wb")
                for i in range(3):  # 96 KiB gathered, not yet written
                    await fh.write(b"x" * 32768, i * 32768)
                with pytest.raises(asyncssh.SFTPFailure, match="quota exceeded"):
                    await fh.write(b"x" * 32768, 3 * 32768)
                with pytest.raises(asyncssh.SFTPFailure, match="file discarded"):
                    await fh.close()
                assert list((tmp_path / "h").iterdir()) == []  # no partial file left
                async with sftp.open("f", "wb") as fh:  # the name is free again
                    await fh.write(b"y" * 10)
            assert receiver.manifest("h") == [ManifestEntry("f", 10, hashlib.sha256(b"y" * 10).hexdigest())]
            assert receiver.stats("h") == (1, 10)

    run(body())


def test_reading_an_upload_through_its_handle_sees_what_was_written(tmp_path: Path) -> None:
    async def body() -> None:
        async with Receiver(tmp_path) as receiver:
            async with sftp_session(receiver) as sftp:
                async with sftp.open("f", "w+b") as fh:
                    await fh.write(b"hello world", 0)
                    assert (await fh.stat()).size == 11
                    assert await fh.read(11, 0) == b"hello world"

    run(body())


def test_small_files_are_stored_on_the_loop_and_big_ones_by_the_worker_thread(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A log pull is mostly small files: their data is written and hashed at close on the event
    loop (a thread hop per file costs more CPU than the write); a big file's batches still go to
    the worker thread. Both arrive whole with the right digest."""
    import threading

    where: dict[str, set[bool]] = {}
    store = uploads.store_chunks

    def spy(upload: Any, offset: int, chunks: list[bytes]) -> None:
        where.setdefault(upload.rel, set()).add(threading.current_thread() is threading.main_thread())
        store(upload, offset, chunks)
    monkeypatch.setattr(uploads, "store_chunks", spy)
    small, big = os.urandom(40_000), os.urandom(3 * 1024 * 1024 + 5)

    async def body() -> None:
        async with Receiver(tmp_path) as receiver:
            async with sftp_session(receiver) as sftp:
                for name, data in (("small.log", small), ("big.log", big)):
                    async with sftp.open(name, "wb") as fh:
                        await fh.write(data, 0)
            assert receiver.manifest("h") == [
                ManifestEntry("big.log", len(big), hashlib.sha256(big).hexdigest()),
                ManifestEntry("small.log", len(small), hashlib.sha256(small).hexdigest())]
            assert (tmp_path / "h" / "small.log").read_bytes() == small

    run(body())
    assert where["small.log"] == {True} and False in where["big.log"]


def test_the_rest_of_a_big_ssh_packet_is_read_in_one_piece(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 256 KiB SSH packet is read as its first 64 KiB, then the rest at once (see
    _fit_reads_to_packets): fails if asyncssh's packet state is renamed and reads stay at 64 KiB."""
    sizes = server_read_sizes(monkeypatch)
    payload = os.urandom(4 * 1024 * 1024)

    async def body() -> None:
        async with Receiver(tmp_path) as receiver, sftp_session(receiver) as sftp:
            async with sftp.open("big", "wb") as fh:
                await fh.write(payload, 0)  # 256 KiB WRITEs: SSH packets of the receiver's maximum size
        assert [e.sha256 for e in receiver.manifest("h")] == [hashlib.sha256(payload).hexdigest()]

    run(body())
    assert RECV_SIZE in sizes
    assert max(sizes) > RECV_SIZE


def test_a_batch_that_failed_just_before_close_discards_the_file(tmp_path: Path) -> None:
    """A worker-thread batch can fail and finish in the same loop pass as the client's CLOSE,
    before its done-callback has recorded the failure: the small tail must not then be stored
    on the loop and the file committed with a hole (and a digest of the tail alone).
    A unit test of the upload engine (ops.receiver.uploads), as no client can time this."""
    import errno

    async def body() -> None:
        accounts = Accounts()
        engine = uploads.UploadEngine(accounts, Receiver(tmp_path))  # a receiver's default limits
        state = accounts.create("h", tmp_path)
        upload = engine.begin(state, "f.log", str(tmp_path / "f.log"), read=False, append=False)
        assert engine.write(upload, 0, b"tail" * 100) == 400  # gathered, not yet stored
        failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        failed.set_exception(OSError(errno.ENOSPC, "No space left on device"))
        upload.inflight = failed  # done, its callback not run yet
        with pytest.raises(asyncssh.SFTPFailure, match="discarded.*No space left"):
            result = engine.finish(upload)
            if result is not None:
                await result
        assert accounts.entries("h") == [] and all_files(tmp_path) == []

    run(body())
