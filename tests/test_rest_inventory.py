"""The inventory's `rest:` settings: inheritance from defaults, secret references only, endpoints."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops.inventory import load_inventory
from ops.targets import prepare
from ops.yamlsource import InputError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "inventory.yaml"
    path.write_text(text)
    return path


def test_rest_settings_inherit_and_resolve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UI_PW", "Ui-Password-91")
    monkeypatch.setenv("SSH_PW", "Ssh-Password-17")
    inv = load_inventory(write(tmp_path, """\
defaults:
  password: env:SSH_PW
  rest: {password: env:UI_PW, ca_bundle: certs/ca.pem, timeout: 7, gws_address: gws.example.com}
hosts:
  fin-a: {address: 10.1.1.10, rest: {port: 9445}}
  fin-b: {address: 10.1.1.11, rest: {verify: false, gws_port: 8090, gws_scheme: http}}
"""))
    base = tmp_path
    a = prepare(inv.hosts["fin-a"], base_dir=base, rest=True).endpoint("finesse")
    assert a.base_url == "https://10.1.1.10:9445" and a.username == "admin" and a.timeout == 7
    assert a.password is not None and a.password.reveal() == "Ui-Password-91"
    assert a.verify and a.ca_bundle == tmp_path / "certs" / "ca.pem"
    fin_b = prepare(inv.hosts["fin-b"], base_dir=base, rest=True)
    b = fin_b.endpoint("gws")
    assert b.base_url == "http://gws.example.com:8090" and not b.verify
    assert fin_b.endpoint("finesse").base_url == "https://10.1.1.11:8445"
    # Finesse's REST API falls back to the SSH (administrator) password; GWS has no such fallback.
    assert fin_b.ssh.password.reveal() == "Ssh-Password-17"
    assert "Ui-Password" not in repr(a)


def test_clear_text_rest_password_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        load_inventory(write(tmp_path, "hosts:\n  fin-a: {address: 10.1.1.10, password: env:X,"
                                       " rest: {gws_password: hunter22}}\n"))
    assert "never written in clear text" in str(caught.value)
    assert "hunter22" not in str(caught.value)
    with pytest.raises(InputError, match="sheme"):
        load_inventory(write(tmp_path, "hosts:\n  fin-a: {address: 10.1.1.10, password: env:X,"
                                       " rest: {sheme: https}}\n"))


def test_hosts_are_frozen_configuration_and_a_run_never_changes_them(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue "one clear way through the code": secrets are resolved into a run's own view of the host
    (ops.targets), never cached on the inventory's Host; lab hosts come back as new Host objects."""
    import asyncio
    import dataclasses

    from ops.playbook import load_playbook
    from ops.runner import RunOptions, run_playbook

    monkeypatch.setenv("SSH_PW", "Ssh-Password-17")
    inv = load_inventory(write(tmp_path, "hosts:\n  real: {address: 127.0.0.1, port: 9, password: env:SSH_PW,"
                                         " connect_timeout: 2, retries: 0}\n  labbed: {lab: true}\n"))
    before = {name: dataclasses.asdict(host) for name, host in inv.hosts.items()}
    with pytest.raises(dataclasses.FrozenInstanceError):
        inv.hosts["real"].address = "10.9.9.9"  # type: ignore[misc]
    book = tmp_path / "book.yaml"
    book.write_text("name: t\nhosts: all\nsteps:\n  - name: version\n    cli: {command: show version active}\n"
                    "  - name: info\n    finesse_system_info: {}\n")
    report = asyncio.run(run_playbook(load_playbook(book, inv), inv, RunOptions(output=tmp_path / "out",
                                                                                retry_backoff=0.01)))
    assert report.hosts["labbed"].status == "ok"  # reached through the lab provider's own address and secrets
    assert report.hosts["real"].status == "failed"  # nothing listens on port 9
    after = {name: dataclasses.asdict(host) for name, host in inv.hosts.items()}
    assert after == before
    assert inv.hosts["real"].password is None and inv.hosts["labbed"].password is None
    assert not inv.hosts["labbed"].rest_secrets
