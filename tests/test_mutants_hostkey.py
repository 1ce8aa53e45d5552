"""Host-key policy details that the lab tests in test_transport.py leave open (found by bench/mutation.py)."""

from __future__ import annotations

from pathlib import Path

import asyncssh
import pytest

from ops.lab.server import LabAppliance, LabConfig
from ops.secrets import Secret
from ops.session.errors import HostKeyError
from ops.session.hostkey import ACCEPT_NEW, STRICT, HostKeyPolicy
from ops.session.transport import Target, _HostKeyCheck, _key_label, connect
from tests.helpers import LAB_PASSWORD, run


def _check(policy: HostKeyPolicy, address: str = "10.1.2.3", port: int = 2222) -> _HostKeyCheck:
    target = Target("node1", address, port, "admin", Secret("Unused-Pw-1"), policy, connect_timeout=5)
    return _HostKeyCheck(target, None)


def _key() -> asyncssh.SSHKey:
    return asyncssh.generate_private_key("ssh-ed25519").convert_to_public()


def test_known_hosts_defaults_to_the_users_ssh_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert HostKeyPolicy().known_hosts_path() == tmp_path / ".ssh" / "known_hosts"
    assert HostKeyPolicy(STRICT, tmp_path / "kh").known_hosts_path() == tmp_path / "kh"


def test_known_hosts_labels_follow_openssh() -> None:
    """OpenSSH writes a host on port 22 bare and any other port as [host]:port."""
    assert _key_label("cucm-pub", 22) == "cucm-pub"
    assert _key_label("cucm-pub", 2222) == "[cucm-pub]:2222"
    assert _key_label("10.0.0.5", 23) == "[10.0.0.5]:23"


def test_accept_new_records_the_host_with_its_port(tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"

    async def go() -> None:
        async with LabAppliance(LabConfig(password=LAB_PASSWORD)) as lab:
            target = Target("node1", lab.host, lab.port, "admin", Secret(LAB_PASSWORD),
                            HostKeyPolicy(ACCEPT_NEW, known), connect_timeout=5)
            conn = await connect(target)
            conn.close()
            await conn.wait_closed()
            assert known.read_text().startswith(f"[{lab.host}]:{lab.port} ")

    run(go())


def test_failures_name_where_and_what_was_offered() -> None:
    check = _check(HostKeyPolicy(STRICT, Path("/nonexistent/kh")))
    message = str(check.failure())  # no key was offered at all (the exchange failed before one)
    assert "host key no key of 10.1.2.3:2222 is not in /nonexistent/kh" in message

    offered, first, second = _key(), _key(), _key()
    check.offered = offered
    check.trusted = [first, second]
    message = str(check.failure())
    expected = f"{first.get_fingerprint('sha256')}, {second.get_fingerprint('sha256')}"
    assert isinstance(check.failure(), HostKeyError)
    assert f"node1: HOST KEY CHANGED for 10.1.2.3:2222: expected {expected}, got {offered.get_fingerprint('sha256')}" \
        in message

    pinned = _check(HostKeyPolicy("fingerprint", fingerprint="SHA256:pin"))
    pinned.offered = offered
    assert str(pinned.failure()) == (f"node1: HOST KEY CHANGED for 10.1.2.3:2222: expected the pinned SHA256:pin, "
                                     f"got {offered.get_fingerprint('sha256')}")
