"""The inventory's `rest:` settings: inheritance from defaults, secret references only, endpoints."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops.inventory import load_inventory
from ops.rest.settings import endpoint_for
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
    a = endpoint_for(inv.hosts["fin-a"], "finesse", base_dir=base)
    assert a.base_url == "https://10.1.1.10:9445" and a.username == "admin" and a.timeout == 7
    assert a.password is not None and a.password.reveal() == "Ui-Password-91"
    assert a.verify and a.ca_bundle == tmp_path / "certs" / "ca.pem"
    b = endpoint_for(inv.hosts["fin-b"], "gws", base_dir=base)
    assert b.base_url == "http://gws.example.com:8090" and not b.verify
    assert endpoint_for(inv.hosts["fin-b"], "finesse", base_dir=base).base_url == "https://10.1.1.11:8445"
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
