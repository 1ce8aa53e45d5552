"""The receiver's limits against hostile neighbours: connections not logged in, login grace, login
attempts per connection and per address, logins and open handles per account, directories in the
file quota, and writes far beyond a file's end (see the docstring of ops.receiver)."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import socket
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from pathlib import Path
from typing import Any, cast

import asyncssh
import pytest

from ops.inventory import ReceiverFields
from ops.receiver import DEFAULT_LIMITS, Receiver
from tests.test_receiver import connect, eventually, run, sftp_session
from tests.test_receiver_clients import ThreadedReceiver, paramiko_sftp

BANNER_WAIT = 10.0  # generous: only a hang or a missing close makes a test wait this long
# What an SSH client sees of a connection closed as it arrives: the end of the stream, or a reset
# when its version line had already reached the server (the raw-socket checks are the exact ones).
CLOSED_AT_THE_DOOR = (asyncssh.ConnectionLost, ConnectionResetError)


@contextlib.contextmanager
def raw_sockets(port: int, count: int, source: str = "127.0.0.1") -> Iterator[list[socket.socket]]:
    """TCP connections that never send a byte (a neighbour holding connections open)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=BANNER_WAIT,
                                            source_address=(source, 0))
            socks.append(sock)
        yield socks
    finally:
        for sock in socks:
            sock.close()


def first_bytes(sock: socket.socket) -> bytes:
    """What the server sends first: its version line, or b"" when it closes without a word."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = sock.recv(256)
        if not chunk:
            break
        data += chunk
    return data


async def in_thread(fn: Any, *args: Any) -> Any:
    return await asyncio.to_thread(fn, *args)


# -- connections that have not logged in --------------------------------------------------------


def test_connections_waiting_to_log_in_are_capped_and_the_excess_closed_before_the_banner(tmp_path: Path) -> None:
    async def body() -> None:
        async with Receiver(tmp_path, max_unauthenticated=3, login_grace_time=60) as receiver:
            account = receiver.add_account("h")
            with raw_sockets(receiver.port, 3) as held:
                for sock in held:
                    assert (await in_thread(first_bytes, sock)).startswith(b"SSH-2.0-")
                assert receiver.connections() == (3, 0)
                with raw_sockets(receiver.port, 1) as (excess,):
                    # Closed as it arrived: not even the version line, so no key exchange either.
                    assert await in_thread(first_bytes, excess) == b""
                with pytest.raises(CLOSED_AT_THE_DOOR):
                    await connect(receiver, account)
            # Once the held connections go, appliances get in again.
            assert await eventually(lambda: receiver.connections()[0] == 0, timeout=BANNER_WAIT)
            async with await connect(receiver, account) as conn, conn.start_sftp_client() as sftp:
                async with sftp.open("f", "wb") as fh:
                    await fh.write(b"ok")
                # A connection that has logged in no longer counts.
                assert receiver.connections() == (0, 1)
            assert [e.path for e in receiver.manifest("h")] == ["f"]

    run(body(), timeout=60)


def test_the_cap_on_connections_waiting_to_log_in_is_never_below_the_number_of_accounts(tmp_path: Path) -> None:
    """Every appliance of a run may be in its key exchange at once."""
    async def body() -> None:
        async with Receiver(tmp_path, max_unauthenticated=1, login_grace_time=60) as receiver:
            for i in range(3):
                receiver.add_account(f"h{i}")
            with raw_sockets(receiver.port, 4) as socks:
                got = [await in_thread(first_bytes, sock) for sock in socks]
            assert [g.startswith(b"SSH-2.0-") for g in got] == [True, True, True, False]

    run(body(), timeout=60)


def test_the_cap_counts_the_accounts_of_finished_hosts_too(tmp_path: Path) -> None:
    """A finished host's account is released (memory stays bounded), but the run's size does not
    shrink: with the cap at the accounts still live, 1,000 lab hosts at forks 200 were refused
    ("Connection lost") near the end of the run. A revoked account (remove_account) does not count."""
    async def body() -> None:
        async with Receiver(tmp_path, max_unauthenticated=1, login_grace_time=60) as receiver:
            accounts = [receiver.add_account(f"h{i}") for i in range(4)]
            receiver.release("h0")
            receiver.release("h1")
            receiver.remove_account(accounts[3].username)
            with raw_sockets(receiver.port, 4) as socks:
                got = [await in_thread(first_bytes, sock) for sock in socks]
            assert [g.startswith(b"SSH-2.0-") for g in got] == [True, True, True, False]

    run(body(), timeout=60)


def test_a_connection_that_does_not_log_in_within_the_grace_time_is_closed(tmp_path: Path) -> None:
    async def body() -> None:
        async with Receiver(tmp_path, login_grace_time=0.5) as receiver:
            with raw_sockets(receiver.port, 1) as (sock,):
                assert (await in_thread(first_bytes, sock)).startswith(b"SSH-2.0-")
                # Then nothing more, and the server closes (recv would time out otherwise).
                assert await in_thread(sock.recv, 256) == b""
            assert await eventually(lambda: receiver.connections() == (0, 0))

    run(body(), timeout=60)


# -- login attempts ------------------------------------------------------------------------------


class WrongPasswords(asyncssh.SSHClient):
    """A client that keeps trying passwords (up to 10) as long as the server lets it."""

    def __init__(self) -> None:
        self.tries = 0

    def password_auth_requested(self) -> str | None:
        self.tries += 1
        return f"guess-{self.tries}" if self.tries <= 10 else None


async def guess(receiver: Receiver, username: str, **kwargs: Any) -> tuple[WrongPasswords, asyncssh.PermissionDenied]:
    client = WrongPasswords()
    with pytest.raises(asyncssh.PermissionDenied) as excinfo:
        await asyncssh.connect("127.0.0.1", receiver.port, username=username, client_factory=lambda: client,
                               known_hosts=None, client_keys=None, agent_path=None, config=None,
                               preferred_auth="password", **kwargs)
    return client, excinfo.value


def test_login_attempts_per_connection_are_capped(tmp_path: Path) -> None:
    async def body() -> None:
        async with Receiver(tmp_path, max_auth_attempts=3, max_auth_failures_per_address=None) as receiver:
            account = receiver.add_account("h")
            client, exc = await guess(receiver, account.username)
            assert client.tries == 3
            assert exc.reason == "too many authentication failures (at most 3 a connection)"
            async with await connect(receiver, account):  # the right password still works
                pass

    run(body())


def test_an_address_with_many_failed_logins_is_refused_for_a_while_and_others_are_not(tmp_path: Path) -> None:
    async def body() -> None:
        async with Receiver(tmp_path, max_auth_attempts=2, max_auth_failures_per_address=4,
                            auth_failure_window=60) as receiver:
            account = receiver.add_account("h")
            for _ in range(2):
                client, exc = await guess(receiver, "ops-00000000")
                assert client.tries == 2 and "too many authentication failures" in exc.reason
            # The fifth login from that address, right password or not, is refused at the door.
            with raw_sockets(receiver.port, 1) as (sock,):
                assert await in_thread(first_bytes, sock) == b""
            with pytest.raises(CLOSED_AT_THE_DOOR):
                await connect(receiver, account)
            # Another address (127.0.0.2 is loopback too) is not affected.
            async with await connect(receiver, account, local_addr=("127.0.0.2", 0)) as conn:
                assert conn.get_extra_info("sockname")[0] == "127.0.0.2"
            # Once the failures are older than the window, the address is let in again.
            receiver.auth_failure_window = 0.05
            await asyncio.sleep(0.1)
            async with await connect(receiver, account):
                pass

    run(body(), timeout=60)


# -- per account: logins and open handles --------------------------------------------------------


def test_logins_of_one_account_at_once_are_capped(tmp_path: Path) -> None:
    async def body() -> None:
        async with Receiver(tmp_path, max_connections_per_account=2) as receiver:
            account, other = receiver.add_account("h"), receiver.add_account("other")
            first, second = await connect(receiver, account), await connect(receiver, account)
            try:
                with pytest.raises(asyncssh.DisconnectError) as excinfo:
                    await connect(receiver, account)
                assert excinfo.value.code == asyncssh.DISC_TOO_MANY_CONNECTIONS
                assert excinfo.value.reason == "too many connections for this account (at most 2) (error 12)"
                async with await connect(receiver, other):  # other accounts are not affected
                    pass
                first.close()
                await first.wait_closed()
                assert await eventually(lambda: receiver.connections() == (0, 1))  # `second` alone
                async with await connect(receiver, account):
                    pass
            finally:
                first.abort()
                second.abort()

    run(body())


def test_open_handles_per_account_are_capped_and_other_accounts_unaffected(tmp_path: Path) -> None:
    message = "too many open handles: at most 4 per account"

    async def body() -> None:
        async with Receiver(tmp_path, max_handles_per_account=4) as receiver:
            account = receiver.add_account("h")
            async with await connect(receiver, account) as conn, conn.start_sftp_client() as sftp, \
                    await connect(receiver, account) as conn2, conn2.start_sftp_client() as sftp2:
                async with sftp.open("done.log", "wb") as fh:
                    await fh.write(b"finished")
                await sftp.mkdir("d")
                # Two uploads, a finished file read back and a directory being listed, over two
                # connections of the same account: four handles.
                up1, up2 = await sftp.open("a.log", "wb"), await sftp2.open("b.log", "wb")
                reader = await sftp.open("done.log", "rb")
                listing = cast(AsyncGenerator[asyncssh.SFTPName, None], sftp2.scandir("d"))
                assert [n.filename async for n in _take(listing, 2)] == [".", ".."]
                for attempt in (sftp.open("c.log", "wb"), sftp2.open("done.log", "rb"), sftp.listdir("/")):
                    with pytest.raises(asyncssh.SFTPFailure) as excinfo:
                        await attempt
                    assert excinfo.value.reason == message
                async with sftp_session(receiver, "other") as other:  # another account: unaffected
                    handles = [await other.open(f"o{i}.log", "wb") for i in range(4)]
                    for handle in handles:
                        await handle.close()
                # A handle closed frees its place; the listing's handle too.
                await reader.close()
                async with sftp.open("c.log", "wb") as fh:
                    await fh.write(b"c")
                await listing.aclose()
                assert await sftp.listdir("d") == [".", ".."]
                await up1.write(b"a")
                await up1.close()
                await up2.close()
            assert [e.path for e in receiver.manifest("h")] == ["a.log", "b.log", "c.log", "done.log"]

    run(body())


async def _take(names: AsyncIterator[asyncssh.SFTPName], count: int) -> AsyncIterator[asyncssh.SFTPName]:
    for _ in range(count):
        yield await names.__anext__()


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[ThreadedReceiver]:
    server = ThreadedReceiver(tmp_path / "recv", max_handles_per_account=3)
    try:
        yield server
    finally:
        server.close()


def test_paramiko_sees_the_handle_limit_as_an_sftp_error(limited: ThreadedReceiver) -> None:
    account = limited.call(lambda: limited.receiver.add_account("h"))
    transport, sftp = paramiko_sftp(limited.receiver.port, account.username, account.password.reveal())
    try:
        handles = [sftp.open(f"f{i}.log", "w") for i in range(3)]
        with pytest.raises(OSError) as excinfo:
            sftp.open("f3.log", "w")
        assert type(excinfo.value) is OSError
        assert excinfo.value.args == ("too many open handles: at most 3 per account",)
        handles[0].close()
        sftp.open("f3.log", "w").close()
        for handle in handles[1:]:
            handle.close()
    finally:
        sftp.close()
        transport.close()
    names = [e.path for e in limited.call(lambda: limited.receiver.manifest("h"))]
    assert names == ["f0.log", "f1.log", "f2.log", "f3.log"]


# -- what an account may create -----------------------------------------------------------------


def test_directories_count_against_the_file_quota(tmp_path: Path) -> None:
    message = "quota exceeded: at most 3 files and directories per account"

    async def body() -> None:
        async with Receiver(tmp_path, max_files_per_account=3) as receiver:
            async with sftp_session(receiver) as sftp:
                await sftp.mkdir("a")
                await sftp.mkdir("b")
                async with sftp.open("a/f.log", "wb") as fh:
                    await fh.write(b"f")
                for attempt in (sftp.mkdir("c"), sftp.open("g.log", "wb")):
                    with pytest.raises(asyncssh.SFTPFailure) as excinfo:
                        await attempt
                    assert excinfo.value.reason == message
                with pytest.raises(asyncssh.SFTPFailure) as excinfo:
                    await sftp.mkdir("a")  # one that exists says so, full or not
                assert excinfo.value.reason == "File exists"
                await sftp.rmdir("b")  # a directory removed gives its place back
                await sftp.mkdir("c")
            assert sorted(p.name for p in (tmp_path / "h").iterdir()) == ["a", "c"]

    run(body())


@pytest.mark.parametrize("limits, message", [
    ({}, "write refused: offset 21474836480 would leave 21474836475 bytes of the file unwritten (at most 67108864)"),
    ({"max_bytes_per_account": 10**9, "max_write_gap": None}, "quota exceeded: at most 1000000000 bytes per account"),
], ids=["gap-default", "byte-quota"])
def test_a_write_far_beyond_the_end_of_a_file_is_refused_and_no_sparse_file_is_made(
        tmp_path: Path, limits: dict[str, Any], message: str) -> None:
    async def body() -> None:
        async with Receiver(tmp_path, **limits) as receiver:
            async with sftp_session(receiver) as sftp:
                fh = await sftp.open("sparse.log", "wb")
                await fh.write(b"start", 0)
                with pytest.raises(asyncssh.SFTPFailure) as excinfo:
                    await fh.write(b"x", 20 * 1024**3)
                assert excinfo.value.reason == message
                with pytest.raises(asyncssh.SFTPFailure) as excinfo:
                    await fh.close()
                assert excinfo.value.reason == f"file discarded: {message}"
                # Writes out of order within the gap are still fine.
                async with sftp.open("ok.log", "wb") as fh:
                    await fh.write(b"world", 5)
                    await fh.write(b"hello", 0)
            assert sorted(p.name for p in (tmp_path / "h").iterdir()) == ["ok.log"]
            assert receiver.stats("h") == (1, 10)

    run(body())


# -- settings -----------------------------------------------------------------------------------


def test_the_limits_defaults_agree_in_the_receiver_and_the_inventory() -> None:
    signature = inspect.signature(Receiver)
    assert {name: signature.parameters[name].default for name in DEFAULT_LIMITS} == DEFAULT_LIMITS
    assert ReceiverFields().limits() == DEFAULT_LIMITS
    fields = ReceiverFields.model_validate({"max_handles_per_host": 5, "max_unauthenticated": None,
                                            "login_grace_time": 10, "max_write_gap": 0})
    receiver = Receiver(Path("unused"), **fields.limits())
    assert (receiver.max_handles_per_account, receiver.max_unauthenticated, receiver.login_grace_time,
            receiver.max_write_gap) == (5, None, 10, 0)
