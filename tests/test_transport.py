"""Host key policies against a real SSH server: strict, accept-new, pinned; changed keys name both prints."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops.lab.server import LabAppliance, LabConfig
from ops.secrets import Secret
from ops.session.errors import AuthError, HostKeyError
from ops.session.transport import ACCEPT_NEW, STRICT, HostKeyPolicy, Target, connect
from tests.helpers import LAB_PASSWORD, run


def _target(lab: LabAppliance, policy: HostKeyPolicy, password: str = LAB_PASSWORD) -> Target:
    return Target("node1", lab.host, lab.port, "admin", Secret(password), policy, connect_timeout=5)


async def _connect(target: Target) -> None:
    conn = await connect(target)
    conn.close()
    await conn.wait_closed()


def test_strict_refuses_an_unknown_host_then_accepts_a_known_one(tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"

    async def go() -> None:
        async with LabAppliance(LabConfig(password=LAB_PASSWORD)) as lab:
            with pytest.raises(HostKeyError, match="is not in"):
                await _connect(_target(lab, HostKeyPolicy(STRICT, known)))
            known.write_text(lab.known_hosts_line() + "\n")
            await _connect(_target(lab, HostKeyPolicy(STRICT, known)))

    run(go())


def test_accept_new_records_then_refuses_a_changed_key_with_both_fingerprints(tmp_path: Path) -> None:
    known = tmp_path / "sub" / "known_hosts"

    async def go() -> None:
        async with LabAppliance(LabConfig(password=LAB_PASSWORD)) as lab:
            await _connect(_target(lab, HostKeyPolicy(ACCEPT_NEW, known)))
            assert lab.host_key.export_public_key().decode().split()[1] in known.read_text()
            old = lab.host_key_fingerprint()
            port = lab.port
        async with LabAppliance(LabConfig(password=LAB_PASSWORD)) as other:
            await other.stop()
            await other.start("127.0.0.1", port)
            with pytest.raises(HostKeyError) as info:
                await _connect(_target(other, HostKeyPolicy(ACCEPT_NEW, known)))
            message = str(info.value)
            assert "HOST KEY CHANGED" in message and old in message and other.host_key_fingerprint() in message

    run(go())


def test_pinned_fingerprint_and_wrong_password(tmp_path: Path) -> None:
    async def go() -> None:
        async with LabAppliance(LabConfig(password=LAB_PASSWORD)) as lab:
            pinned = HostKeyPolicy("fingerprint", fingerprint=lab.host_key_fingerprint())
            await _connect(_target(lab, pinned))
            with pytest.raises(AuthError, match="authentication failed"):
                await _connect(_target(lab, pinned, password="Wrong-Pass-1"))
            wrong = HostKeyPolicy("fingerprint", fingerprint="SHA256:" + "A" * 43)
            with pytest.raises(HostKeyError, match="expected the pinned SHA256:AAAA"):
                await _connect(_target(lab, wrong))

    run(go())


def test_known_hosts_is_parsed_once_until_it_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run over many hosts parses known_hosts once, not once a host; a change (an entry added by
    accept-new or by hand) is read at the next connection."""
    import asyncssh

    from ops.session import transport

    parsed: list[int] = []
    original = asyncssh.import_known_hosts
    monkeypatch.setattr(asyncssh, "import_known_hosts", lambda text: (parsed.append(len(text)), original(text))[1])
    known = tmp_path / "known_hosts"

    async def go() -> None:
        async with LabAppliance(LabConfig(password=LAB_PASSWORD)) as lab:
            known.write_text(lab.known_hosts_line() + "\n")
            for _ in range(3):
                await _connect(_target(lab, HostKeyPolicy(STRICT, known)))
            assert len(parsed) == 1
            with known.open("a") as fh:
                fh.write("[192.0.2.1]:22 " + lab.known_hosts_line().split(" ", 1)[1] + "\n")
            await _connect(_target(lab, HostKeyPolicy(STRICT, known)))
            assert len(parsed) == 2

    monkeypatch.setattr(transport, "_KNOWN_HOSTS", {}, raising=False)
    run(go())
