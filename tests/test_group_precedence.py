"""Group variables merge as Ansible merges them (ansible/ansible#22580): by depth, so a child group
wins over its parents, then groups of equal depth by name (a later name wins); host vars win over
all groups, and defaults.vars lose to everything."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from ops.inventory import load_inventory
from tests.helpers import REPO


def _readme_inventory() -> dict:
    text = (REPO / "README.md").read_text()
    section = text.split("## Inventory", 1)[1]
    match = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert match, "README's Inventory section has no yaml example"
    data = yaml.safe_load(match.group(1))
    for host in data["hosts"].values():  # a placeholder fingerprint ("SHA256:Qm9v...") for a real-looking one
        if str(host.get("host_key", "")).endswith("..."):
            host["host_key"] = "SHA256:" + "Qm9v" * 10 + "Qm9"
    return data


def _load(tmp_path: Path, data: dict) -> dict[str, dict]:
    path = tmp_path / "inventory.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return {name: host.vars for name, host in load_inventory(path).hosts.items()}


def test_the_readme_example_as_written(tmp_path: Path) -> None:
    data = _readme_inventory()
    assert list(data["groups"]) == ["finesse", "voice"] and data["groups"]["voice"]["children"] == ["finesse"]
    found = _load(tmp_path, data)
    assert found["fin-a"]["days"] == 2  # the group's
    assert found["fin-b"]["days"] == 1  # host vars win over the group


@pytest.mark.parametrize("child_first", [True, False], ids=["child-declared-first", "parent-declared-first"])
def test_child_group_wins_over_its_parent_in_either_key_order(tmp_path: Path, child_first: bool) -> None:
    data = _readme_inventory()
    finesse, voice = data["groups"]["finesse"], dict(data["groups"]["voice"])
    voice["vars"] = {"days": 7, "site": "voice"}
    data["groups"] = {"finesse": finesse, "voice": voice} if child_first else {"voice": voice, "finesse": finesse}
    found = _load(tmp_path, data)
    assert found["fin-a"] == {"days": 2, "site": "voice"}  # finesse (child) over voice (parent)
    assert found["fin-b"] == {"days": 1, "site": "voice"}  # the host over both
    assert found["lab-1"] == {}


@pytest.mark.parametrize("order", [["alpha", "beta"], ["beta", "alpha"]])
def test_groups_of_equal_depth_merge_by_name_a_later_name_winning(tmp_path: Path, order: list[str]) -> None:
    groups = {"alpha": {"hosts": ["h"], "vars": {"x": "alpha", "a": 1}},
              "beta": {"hosts": ["h"], "vars": {"x": "beta", "b": 1}}}
    data = {"defaults": {"vars": {"x": "defaults", "d": 1}},
            "groups": {name: groups[name] for name in order},
            "hosts": {"h": {"lab": True}}}
    assert _load(tmp_path, data)["h"] == {"x": "beta", "a": 1, "b": 1, "d": 1}


@pytest.mark.parametrize("reverse", [False, True])
def test_depth_counts_the_longest_path_and_beats_names_and_sizes(tmp_path: Path, reverse: bool) -> None:
    """`zz` is a root; `aa` is two levels down (under `mid` under `top`), also listed directly under
    `top`: it is deeper than `mid`, which is deeper than `zz` and `top` whatever their names or sizes."""
    groups = {
        "top": {"children": ["mid", "aa"], "vars": {"v": "top", "t": 1}},
        "mid": {"children": ["aa"], "hosts": ["other"], "vars": {"v": "mid", "m": 1}},
        "aa": {"hosts": ["h"], "vars": {"v": "aa"}},
        "zz": {"hosts": ["h", "other", "third"], "vars": {"v": "zz", "m": "zz", "t": "zz"}},
    }
    names = list(groups)[::-1] if reverse else list(groups)
    data = {"groups": {n: groups[n] for n in names},
            "hosts": {"h": {"lab": True}, "other": {"lab": True}, "third": {"lab": True, "vars": {"v": "host"}}}}
    found = _load(tmp_path, data)
    # Depths: top 0, zz 0, mid 1, aa 2. Order: top, zz, mid, aa.
    assert found["h"] == {"v": "aa", "t": "zz", "m": 1}
    assert found["other"] == {"v": "mid", "t": "zz", "m": 1}
    assert found["third"] == {"v": "host", "m": "zz", "t": "zz"}
