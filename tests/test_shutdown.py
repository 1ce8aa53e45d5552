"""Stopping the receiver or a lab appliance while clients are still connected returns promptly.

From Python 3.12 on, `asyncio.Server.wait_closed()` waits for every connection the server accepted
(CPython #79033, #104344): a stop() that waits for its listener before dropping its connections
never returns while a client holds one. These tests hold sessions open (logged in, mid-upload, at
the CLI prompt, and not logged in at all) and give stop() a generous 10 s.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import asyncssh
import pytest

from ops.lab.server import LabAppliance, LabConfig
from ops.receiver import Receiver
from tests.test_receiver import connect, run

STOP_BOUND = 10.0  # generous: a stop that works takes well under a second

pytestmark = pytest.mark.timeout(90)


def held_socket(port: int) -> socket.socket:
    """A TCP connection that never logs in."""
    return socket.create_connection(("127.0.0.1", port), timeout=STOP_BOUND)


def test_stopping_the_receiver_with_sessions_open_returns(tmp_path: Path) -> None:
    async def body() -> None:
        receiver = Receiver(tmp_path / "recv")
        await receiver.start()
        account = receiver.add_account("h")
        conn = await connect(receiver, account)
        raw = held_socket(receiver.port)
        try:
            sftp = await conn.start_sftp_client()
            fh = await sftp.open("partial.log", "wb")
            await fh.write(b"x" * 100_000, 0)
            idle = await connect(receiver, receiver.add_account("idle"))  # logged in, doing nothing
            await asyncio.wait_for(receiver.stop(), STOP_BOUND)
            await asyncio.wait_for(conn.wait_closed(), STOP_BOUND)
            await asyncio.wait_for(idle.wait_closed(), STOP_BOUND)
            assert list(account.directory.iterdir()) == []  # the partial upload went with it
        finally:
            raw.close()
            conn.abort()
            await receiver.stop()

    run(body(), timeout=60)


def test_stopping_a_lab_appliance_with_a_session_open_returns(tmp_path: Path) -> None:
    async def body() -> None:
        lab = LabAppliance(LabConfig(log_root=tmp_path / "activelog"))
        await lab.start()
        conn = await asyncssh.connect(lab.host, lab.port, username=lab.config.username,
                                      password=lab.config.password, known_hosts=None, client_keys=None,
                                      agent_path=None, config=None)
        raw = held_socket(lab.port)
        try:
            proc = await conn.create_process(term_type="vt100", encoding="utf-8")
            seen = ""
            while not seen.rstrip().endswith("admin:"):
                seen += await asyncio.wait_for(proc.stdout.read(4096), STOP_BOUND)
            await asyncio.wait_for(lab.stop(), STOP_BOUND)
            await asyncio.wait_for(conn.wait_closed(), STOP_BOUND)
        finally:
            raw.close()
            conn.abort()
            await lab.stop()

    run(body(), timeout=60)
