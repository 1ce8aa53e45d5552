"""ops.sshpatches: no SSH_MSG_IGNORE before each packet with AEAD ciphers (still there with others),
and packet logging unchanged when it is switched on."""

from __future__ import annotations

import collections
import logging
import subprocess
import sys
from typing import Any

import asyncssh
import pytest
from asyncssh import packet

from ops import sshpatches
from tests.helpers import REPO, run

MSG_IGNORE = 2
sshpatches.apply()  # as the entry points do


class _AnyPassword(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return True


async def _session(cipher: str) -> None:
    """Log in to a throw-away server with `cipher`, open a channel, send some data, close."""
    key = asyncssh.generate_private_key("ssh-ed25519")

    async def handle(process: asyncssh.SSHServerProcess[str]) -> None:
        line = await process.stdin.readline()
        process.stdout.write(line)
        process.exit(0)

    server = await asyncssh.listen("127.0.0.1", 0, server_host_keys=[key], server_factory=_AnyPassword,
                                   process_factory=handle, encryption_algs=[cipher])
    port = server.sockets[0].getsockname()[1]
    try:
        async with asyncssh.connect("127.0.0.1", port, username="u", password="p", known_hosts=None,
                                    client_keys=None, agent_path=None, config=None,
                                    encryption_algs=[cipher]) as conn:
            result = await conn.run(input="hello\n")
            assert result.stdout == "hello\n"
    finally:
        server.close()
        await server.wait_closed()


def _received_types(monkeypatch: pytest.MonkeyPatch, cipher: str) -> collections.Counter[int]:
    seen: collections.Counter[int] = collections.Counter()
    original = packet.SSHPacketLogger.log_received_packet

    def spy(self: Any, pkttype: int, pktid: Any, pkt: Any, note: str = "") -> None:
        seen[pkttype] += 1
        original(self, pkttype, pktid, pkt, note)

    monkeypatch.setattr(packet.SSHPacketLogger, "log_received_packet", spy)
    run(_session(cipher))
    return seen


@pytest.mark.parametrize("module", ["ops.session.transport", "ops.receiver", "ops.lab.server", "ops.lab.push"])
def test_importing_a_module_patches_nothing(module: str) -> None:
    # A fresh interpreter per module: importing is free of side effects; the entry points patch.
    code = f"import {module}; from ops import sshpatches; print(sshpatches.applied())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "False"


def test_the_ops_entry_point_applies_the_patches() -> None:
    code = ("import io, contextlib; from ops import cli, sshpatches\n"
            "with contextlib.redirect_stdout(io.StringIO()): cli.main(['schema', 'playbook'])\n"
            "print(sshpatches.applied())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "True"


@pytest.mark.parametrize("cipher", ["aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com"])
def test_no_ignore_packets_with_aead_ciphers(monkeypatch: pytest.MonkeyPatch, cipher: str) -> None:
    seen = _received_types(monkeypatch, cipher)
    assert seen[MSG_IGNORE] == 0
    assert sum(seen.values()) > 10  # the session really ran


def test_ignore_packets_kept_with_ctr_and_cbc(monkeypatch: pytest.MonkeyPatch) -> None:
    # The countermeasure is asyncssh's: where the cipher needs it (CBC), it stays; the test
    # also shows the spy sees ignore packets when they are sent.
    for cipher in ("aes128-cbc", "aes128-ctr"):
        seen = _received_types(monkeypatch, cipher)
        assert seen[MSG_IGNORE] > 5, cipher


def test_packet_logging_still_works_when_switched_on(caplog: pytest.LogCaptureFixture) -> None:
    asyncssh.set_debug_level(3)
    try:
        with caplog.at_level(logging.DEBUG, logger="asyncssh"):
            run(_session("aes128-gcm@openssh.com"))
    finally:
        asyncssh.set_debug_level(1)
    text = caplog.text
    assert "Sent MSG_USERAUTH_REQUEST" in text and "Received MSG_CHANNEL_DATA" in text


def test_no_log_text_is_built_when_logging_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    described: list[int] = []
    monkeypatch.setattr(packet, "plural", lambda n, *a: described.append(n) or "")  # each packet's size text
    converted: list[str] = []

    class Arg:
        def __str__(self) -> str:
            converted.append("str")
            return "arg"

    logging.getLogger("asyncssh").setLevel(logging.WARNING)
    try:
        run(_session("aes128-gcm@openssh.com"))
        asyncssh.logging.logger.debug1("list argument %s", [Arg()])
    finally:
        logging.getLogger("asyncssh").setLevel(logging.NOTSET)
    assert described == [] and converted == []
