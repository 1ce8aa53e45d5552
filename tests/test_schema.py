"""JSON Schemas from the loaders' own models: shipped playbooks and the inventory validate, broken ones do not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from ops.actions import ACTIONS
from ops.actions.base import Action, Args, HostContext, StepResult
from ops.inventory import load_inventory
from ops.playbook import STEP_KEYS, load_playbook
from ops.schema import inventory_schema, playbook_schema
from ops.yamlsource import InputError
from tests.helpers import REPO

jsonschema = pytest.importorskip("jsonschema", reason="add jsonschema to the test dependencies")

PLAYBOOKS = sorted((REPO / "playbooks").glob("*.yaml"))


def _errors(schema: dict[str, Any], data: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]


def test_the_schemas_are_valid_json_schema() -> None:
    for schema in (playbook_schema(), inventory_schema()):
        jsonschema.Draft202012Validator.check_schema(schema)
        json.dumps(schema)  # plain JSON, nothing pydantic-specific left in it


@pytest.mark.parametrize("path", PLAYBOOKS, ids=[p.name for p in PLAYBOOKS])
def test_every_shipped_playbook_validates(path: Path) -> None:
    assert _errors(playbook_schema(), yaml.safe_load(path.read_text())) == []


def test_the_default_inventory_validates() -> None:
    assert _errors(inventory_schema(), yaml.safe_load((REPO / "inventory.yaml").read_text())) == []


def test_every_action_is_a_step_alternative() -> None:
    steps = playbook_schema()["$defs"]["step"]["oneOf"]
    assert sorted(s["title"] for s in steps) == sorted(ACTIONS)
    for step in steps:
        assert step["additionalProperties"] is False and step["required"] == ["name", step["title"]]
        assert set(step["properties"]) == STEP_KEYS | {step["title"]}


GOOD = {"name": "x", "hosts": "all", "steps": [{"name": "a", "cli": {"command": "show version active"}}]}
BROKEN = {
    "unknown action": [{"name": "a", "reboot": {}}],
    "two actions": [{"name": "a", "cli": {"command": "x"}, "network_status": {}}],
    "no name": [{"cli": {"command": "x"}}],
    "no action": [{"name": "a"}],
    "unknown argument": [{"name": "a", "activelog": {"path": "x/*", "recursive": True}}],
    "wrong type": [{"name": "a", "activelog": {"path": "x/*", "recurs": 3}}],
    "not a choice": [{"name": "a", "webproxy_cache_clear": {"cache": "everything"}}],
    "bad register": [{"name": "a", "cli": {"command": "x"}, "register": "not a name"}],
    "bad nested": [{"name": "a", "activelog": {"path": "x/*", "reltime": {"days": "two"}}}],
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_playbook_fails_the_schema_and_the_loader(case: str, tmp_path: Path) -> None:
    book = {**GOOD, "steps": BROKEN[case]}
    assert _errors(playbook_schema(), book), f"{case}: the schema let it through"
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(book))
    with pytest.raises(InputError):
        load_playbook(path)
    assert _errors(playbook_schema(), {**GOOD, "surprise": 1})
    assert _errors(playbook_schema(), {**GOOD, "steps": []})


def test_templates_stand_in_for_any_scalar(tmp_path: Path) -> None:
    book = {"name": "t", "hosts": "all", "vars": {"d": 2, "c": "rest", "on": True},
            "steps": [{"name": "logs",
                       "activelog": {"path": "x/*", "recurs": "{{ on }}", "reltime": {"days": "{{ d }}"}}},
                      {"name": "cache", "webproxy_cache_clear": {"cache": "{{ c }}", "timeout": "{{ d }}"}},
                      {"name": "net", "network_status": None}]}
    assert _errors(playbook_schema(), book) == []
    path = tmp_path / "templated.yaml"
    path.write_text(yaml.safe_dump(book))
    load_playbook(path)  # the loader agrees
    # A string that is not a template is still not a number.
    book["steps"][0]["activelog"]["reltime"]["days"] = "two"
    assert _errors(playbook_schema(), book)


def test_a_new_action_appears_in_the_schema_by_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    import ops.actions.base

    # The step kind registers itself when its class is made: into a copy, so no later test in this
    # process finds it (tests/test_architecture.py compares the registry with the package's modules).
    monkeypatch.setattr(ops.actions.base, "REGISTRY", dict(ops.actions.base.REGISTRY))

    class ReloadArgs(Args):
        delay: int = 5

    class ReloadAction(Action):
        name: ClassVar[str] = "reload_everything"
        Args = ReloadArgs

        def commands(self, args: Any) -> list[str]:
            return ["utils system restart"]

        async def run(self, ctx: HostContext, args: Any) -> StepResult:
            return StepResult()

    monkeypatch.setitem(ACTIONS, "reload_everything", ReloadAction())
    book = {**GOOD, "steps": [{"name": "a", "reload_everything": {"delay": 3}}]}
    assert _errors(playbook_schema(), book) == []
    assert _errors(playbook_schema(), {**GOOD, "steps": [{"name": "a", "reload_everything": {"delay": "x"}}]})


def test_inventory_schema_refuses_what_the_loader_refuses(tmp_path: Path) -> None:
    good = yaml.safe_load((REPO / "inventory.yaml").read_text())
    for bad in ({**good, "defaults": {"password": "hunter2"}},          # clear-text password
                {**good, "hosts": {"fin-a": {"address": "x", "port": 70000}}},
                {**good, "hosts": {"fin-a": {"adress": "x"}}},
                {**good, "receiver": {"legacy_algorithms": "maybe"}}):
        assert _errors(inventory_schema(), bad), bad
        path = tmp_path / "inv.yaml"
        path.write_text(yaml.safe_dump(bad))
        with pytest.raises(InputError):
            load_inventory(path)
    assert _errors(inventory_schema(), {**good, "defaults": {"password": "env:OPS_PW"}}) == []


@pytest.mark.parametrize("kind", ["playbook", "inventory", "report"])
def test_ops_schema_prints_json(kind: str) -> None:
    result = subprocess.run([sys.executable, "-m", "ops.cli", "schema", kind], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60)
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    assert schema["$schema"].endswith("/draft/2020-12/schema") and kind in schema["title"]
