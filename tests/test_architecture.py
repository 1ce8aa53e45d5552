"""The parts and their one direction (README, Architecture): imports that must never exist, read from the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers import REPO

OPS = REPO / "ops"
# (where, what it must never import): models, runner, actions and the session never reach the lab
# (lab hosts come in through a provider the entry point installs); parsers are pure text -> records.
FORBIDDEN = [
    ("ops/runner.py", "ops.lab"), ("ops/actions", "ops.lab"), ("ops/inventory.py", "ops.lab"),
    ("ops/playbook.py", "ops.lab"), ("ops/secrets.py", "ops.lab"), ("ops/templating.py", "ops.lab"),
    ("ops/preflight.py", "ops.lab"), ("ops/providers.py", "ops.lab"), ("ops/session", "ops.lab"),
    ("ops/rest", "ops.lab"), ("ops/receiver.py", "ops.lab"), ("ops/report.py", "ops.lab"),
    ("ops/parsers", "ops.rest"), ("ops/parsers", "ops.session"), ("ops/parsers", "ops.actions"),
    ("ops/parsers", "ops.runner"), ("ops/session", "ops.runner"), ("ops/session", "ops.actions"),
    ("ops/actions", "ops.runner"), ("ops/inventory.py", "ops.runner"), ("ops/playbook.py", "ops.runner"),
]


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize(("where", "banned"), FORBIDDEN, ids=[f"{w}-/->{b}" for w, b in FORBIDDEN])
def test_no_forbidden_import(where: str, banned: str) -> None:
    root = REPO / where
    files = [root] if root.is_file() else sorted(root.rglob("*.py"))
    assert files, f"{where} holds no module"
    bad = [f"{f.relative_to(REPO)} imports {m}" for f in files for m in sorted(_imports(f))
           if m == banned or m.startswith(banned + ".")]
    assert not bad, bad


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "runner.py"
    module.write_text("def f():\n    from ops.lab.server import LabAppliance\n")
    assert "ops.lab.server" in _imports(module)


def test_a_step_kind_is_one_module_that_registers_itself() -> None:
    """Adding a step kind is its action module: ACTIONS is filled from the package, never by hand."""
    from ops.actions import ACTIONS
    from ops.actions.base import REGISTRY

    modules = {p.stem for p in (OPS / "actions").glob("*.py")} - {"__init__", "base"}
    assert set(ACTIONS) == set(REGISTRY)
    assert {type(a).__module__.rsplit(".", 1)[1] for a in ACTIONS.values()} == modules
    assert "ACTIONS" not in (OPS / "runner.py").read_text()
