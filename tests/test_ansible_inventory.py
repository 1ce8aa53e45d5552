"""Issue "At home for an Ansible admin", item 4: their inventories as they are, and `cmd:` secrets."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from ops.ansible import expand_pattern
from ops.inventory import load_inventory
from ops.secrets import MASKER, SecretError, resolve
from ops.targets import prepare
from ops.yamlsource import InputError

INI = """\
# Finesse nodes
fin-pub ansible_host=10.0.0.5 ansible_port=2222 ops_password=env:PUB_PW

[finesse]
fin[01:03].lab ansible_user=appadmin retries=3 # a comment
fin-x:2200

[finesse:vars]
ops_password="env:FIN_PW"
ops_host_key=accept-new
days=7  # a comment

[dc1:children]
finesse
"""


def test_an_ini_inventory_with_ranges_ports_children_and_literals(tmp_path: Path) -> None:
    path = tmp_path / "hosts.ini"
    path.write_text(INI)
    inv = load_inventory(path)
    assert list(inv.hosts) == ["fin-pub", "fin01.lab", "fin02.lab", "fin03.lab", "fin-x"]
    pub = inv.hosts["fin-pub"]
    assert (pub.address, pub.port, pub.password_ref, pub.groups) == ("10.0.0.5", 2222, "env:PUB_PW", ["ungrouped"])
    one = inv.hosts["fin01.lab"]
    assert (one.address, one.port, one.username, one.password_ref) == ("fin01.lab", 22, "appadmin", "env:FIN_PW")
    assert one.host_key.mode == "accept-new"
    assert one.vars["retries"] == 3 and one.vars["days"] == 7  # literals, as Ansible's INI plugin reads them
    assert inv.hosts["fin-x"].port == 2200 and inv.hosts["fin-x"].username == "admin"
    assert [h.name for h in inv.select("dc1")] == ["fin01.lab", "fin02.lab", "fin03.lab", "fin-x"]
    assert sorted(one.groups) == ["dc1", "finesse"]


def test_an_ansible_yaml_inventory_with_all_children_and_vars(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yml"
    path.write_text("""\
all:
  vars: {ansible_user: admin, ops_password: "env:FIN_PW", tier: all}
  children:
    finesse:
      vars: {tier: finesse}
      hosts:
        fin-a: {ansible_host: 10.1.1.10}
        fin-b: {ansible_host: 10.1.1.11, ansible_port: 2022, tier: own}
      children:
        finesse_lab:
          hosts:
            lab-1: {ops_lab: true}
""")
    inv = load_inventory(path)
    a, b, lab = inv.hosts["fin-a"], inv.hosts["fin-b"], inv.hosts["lab-1"]
    assert (a.address, a.port, a.password_ref, a.vars["tier"]) == ("10.1.1.10", 22, "env:FIN_PW", "finesse")
    assert (b.port, b.vars["tier"]) == (2022, "own")
    assert lab.lab is not None and sorted(lab.groups) == ["finesse", "finesse_lab"]
    assert inv.groups["finesse"] == ["fin-a", "fin-b", "lab-1"]


def test_a_directory_with_group_vars_and_host_vars_in_ansible_precedence(tmp_path: Path) -> None:
    (tmp_path / "hosts").write_text("[finesse]\nfin-a ansible_host=10.1.1.10 days=1\nfin-b ansible_host=10.1.1.11\n"
                                    "[finesse:vars]\nregion=from-ini\n[emea:children]\nfinesse\n")
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "all.yml").write_text("ops_password: file:pw.txt\nregion: from-all\ndays: 9\n")
    (tmp_path / "group_vars" / "finesse").mkdir()
    (tmp_path / "group_vars" / "finesse" / "main.yml").write_text("region: from-group-vars\n")
    (tmp_path / "host_vars").mkdir()
    (tmp_path / "host_vars" / "fin-a.yaml").write_text("days: 2\nops_timezone: Europe/Berlin\n")
    (tmp_path / "pw.txt").write_text("Secret-Admin-Pw-1\n")
    inv = load_inventory(tmp_path)
    a, b = inv.hosts["fin-a"], inv.hosts["fin-b"]
    # group_vars/<group> over the inventory file's group vars; host_vars over the host's inline vars.
    assert a.vars["region"] == "from-group-vars" and a.vars["days"] == 2 and a.timezone == "Europe/Berlin"
    assert b.vars["days"] == 9
    # Relative file: references start in the inventory directory itself.
    assert inv.base_dir == tmp_path
    assert prepare(a, base_dir=inv.base_dir).ssh.password.reveal() == "Secret-Admin-Pw-1"


def test_ansible_inventory_list_json(tmp_path: Path) -> None:
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps({
        "_meta": {"hostvars": {"fin-a": {"ansible_host": "10.1.1.10", "ops_password": "env:X", "dc": "east"},
                               "fin-b": {"ansible_host": "10.1.1.11", "ops_password": "env:X"}}},
        "all": {"children": ["ungrouped", "finesse"]},
        "finesse": {"hosts": ["fin-a", "fin-b"]},
    }))
    inv = load_inventory(path)
    assert inv.hosts["fin-a"].address == "10.1.1.10" and inv.hosts["fin-a"].vars["dc"] == "east"
    assert inv.groups["finesse"] == ["fin-a", "fin-b"]


def test_a_clear_text_ansible_password_is_refused_without_showing_it(tmp_path: Path) -> None:
    path = tmp_path / "hosts.ini"
    path.write_text("[finesse]\nfin-a ansible_host=10.1.1.10 ansible_password=Hunter2-Clear\n")
    with pytest.raises(InputError) as caught:
        load_inventory(path)
    text = str(caught.value)
    assert "Hunter2-Clear" not in text
    assert f"{path}:2" in text and "fin-a.ansible_password" in text and "cmd:" in text


def test_a_vault_encrypted_vars_file_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "hosts").write_text("[finesse]\nfin-a ansible_host=10.1.1.10 ops_password=env:X\n")
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "all.yml").write_text("$ANSIBLE_VAULT;1.1;AES256\n6162636465\n")
    with pytest.raises(InputError, match="ansible-vault.*ansible-inventory --list"):
        load_inventory(tmp_path)


@pytest.mark.parametrize(("line", "message"), [
    ("[finesse:hostvars]", "a section is [group], [group:vars] or [group:children]"),
    ("fin-a ansible_host", "host variables are key=value"),
    ("fin[09:01]", "runs backwards"),
    ("fin[1:999999]", "more than 100000 hosts"),
    ("fin-a 'unclosed", "cannot read the line"),
])
def test_ini_mistakes_say_file_line_and_what(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "hosts.ini"
    path.write_text(f"# x\n{line}\n")
    with pytest.raises(InputError) as caught:
        load_inventory(path)
    assert f"{path}:2" in str(caught.value) and message in str(caught.value)


def test_host_patterns() -> None:
    assert expand_pattern("fin[01:03].lab") == [("fin01.lab", None), ("fin02.lab", None), ("fin03.lab", None)]
    assert expand_pattern("node-[a:c]:2222") == [("node-a", 2222), ("node-b", 2222), ("node-c", 2222)]
    assert expand_pattern("n[0:10:5]") == [("n0", None), ("n5", None), ("n10", None)]
    assert expand_pattern("r[1:2]x[a:b]") == [("r1xa", None), ("r1xb", None), ("r2xa", None), ("r2xb", None)]


def test_the_toolkits_own_inventory_is_still_read_as_before(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text("hosts:\n  fin-a: {address: 10.1.1.10, password: env:X}\n")
    assert load_inventory(path).hosts["fin-a"].address == "10.1.1.10"
    path.write_text("hostz:\n  fin-a: {address: 10.1.1.10}\n")
    with pytest.raises(InputError, match="hostz"):
        load_inventory(path)


# -- cmd: references ------------------------------------------------------------------------

def _script(tmp_path: Path, body: str) -> str:
    script = tmp_path / "secret-tool.py"
    script.write_text(body)
    return f"cmd:{sys.executable} {script}"


def test_a_cmd_reference_is_its_commands_first_line_and_is_masked(tmp_path: Path) -> None:
    reference = _script(tmp_path, "print('Vaulted-Pw-77')\nprint('second line ignored')\n")
    secret = resolve(reference, base_dir=tmp_path)
    assert secret.reveal() == "Vaulted-Pw-77"
    assert "Vaulted-Pw-77" in MASKER.values()
    assert "Vaulted-Pw-77" not in repr(secret) and "Vaulted-Pw-77" not in f"{secret}"


def test_a_failing_cmd_says_its_status_never_its_output(tmp_path: Path) -> None:
    reference = _script(tmp_path, "import sys\nprint('Partial-Pw-Leak')\nsys.exit(3)\n")
    with pytest.raises(SecretError) as caught:
        resolve(reference, base_dir=tmp_path)
    assert "exited with status 3" in str(caught.value) and "Partial-Pw-Leak" not in str(caught.value)
    with pytest.raises(SecretError, match="command not found"):
        resolve("cmd:no-such-tool-here view pw", base_dir=tmp_path)
    with pytest.raises(SecretError, match="printed nothing"):
        resolve(_script(tmp_path, ""), base_dir=tmp_path)


def test_hosts_sharing_a_cmd_reference_run_it_once(tmp_path: Path) -> None:
    counter = tmp_path / "runs"
    reference = _script(tmp_path, f"import pathlib\np = pathlib.Path({str(counter)!r})\n"
                                   "p.write_text(p.read_text() + 'x' if p.exists() else 'x')\nprint('Shared-Pw-5')\n")
    (tmp_path / "hosts").write_text(f"[finesse]\nfin[1:4] ops_password='{reference}'\n")
    inv = load_inventory(tmp_path / "hosts")
    resolved: dict = {}
    for host in inv.hosts.values():
        assert prepare(host, base_dir=inv.base_dir, resolved=resolved).ssh.password.reveal() == "Shared-Pw-5"
    assert counter.read_text() == "x"


def test_validate_runs_no_cmd_but_checks_it_exists(tmp_path: Path) -> None:
    from ops.playbook import load_playbook
    from ops.preflight import PreflightError, preflight

    marker = tmp_path / "ran"
    good = _script(tmp_path, f"open({str(marker)!r}, 'w').write('1')\nprint('Pw-Validate-1')\n")
    (tmp_path / "inventory.yaml").write_text(f"hosts:\n  fin-a: {{address: 10.1.1.10, password: '{good}'}}\n")
    book = tmp_path / "book.yaml"
    book.write_text("name: t\nhosts: all\nsteps:\n  - name: v\n    cli: {command: show version active}\n")
    inv = load_inventory(tmp_path / "inventory.yaml")
    preflight(load_playbook(book, inv), inv, ask=False)
    assert not marker.exists()
    (tmp_path / "inventory.yaml").write_text("hosts:\n  fin-a: {address: 10.1.1.10, password: 'cmd:no-such-vault x'}\n")
    inv = load_inventory(tmp_path / "inventory.yaml")
    with pytest.raises(PreflightError, match="no-such-vault: command not found"):
        preflight(load_playbook(book, inv), inv, ask=False)


def test_a_yaml_inventory_with_a_list_where_a_mapping_goes_says_where(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yml"
    path.write_text("all:\n  children:\n    finesse:\n      hosts: [fin-a, fin-b]\n")
    with pytest.raises(InputError) as caught:
        load_inventory(path)
    assert f"{path}:4: all.children.finesse.hosts: hosts is a mapping of names" in str(caught.value)
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps({"_meta": {"hostvars": ["fin-a"]}, "all": {"children": ["x"]}}))
    with pytest.raises(InputError, match="_meta.hostvars is a mapping"):
        load_inventory(path)


def test_a_relative_cmd_is_found_beside_the_inventory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ops.secrets import command_problem

    script = tmp_path / "getpw.sh"
    script.write_text("#!/bin/sh\necho Relative-Pw-3\n")
    script.chmod(0o700)
    monkeypatch.chdir("/")
    assert command_problem("cmd:./getpw.sh", tmp_path) is None
    assert resolve("cmd:./getpw.sh", base_dir=tmp_path).reveal() == "Relative-Pw-3"
    assert "command not found" in (command_problem("cmd:./nothere.sh", tmp_path) or "")
