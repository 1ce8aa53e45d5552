"""The parts and their one direction (README, Architecture): imports that must never exist, read from the source."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.helpers import REPO

pytestmark = pytest.mark.once  # static checks of our own sources

OPS = REPO / "ops"
# (where, what it must never import): models, runner, actions and the session never reach the lab
# (lab hosts come in through a provider the entry point installs); parsers are pure text -> records.
FORBIDDEN = [
    ("ops/runner.py", "ops.lab"), ("ops/actions", "ops.lab"), ("ops/inventory.py", "ops.lab"),
    ("ops/playbook.py", "ops.lab"), ("ops/secrets.py", "ops.lab"), ("ops/templating.py", "ops.lab"),
    ("ops/preflight.py", "ops.lab"), ("ops/providers.py", "ops.lab"), ("ops/session", "ops.lab"),
    ("ops/rest", "ops.lab"), ("ops/receiver", "ops.lab"), ("ops/report.py", "ops.lab"),
    ("ops/sshalgorithms.py", "ops.lab"), ("ops/receiver", "ops.runner"), ("ops/receiver", "ops.actions"),
    ("ops/receiver", "ops.session"),
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


# -- the receiver package: a small public interface, no private access across its parts ------------

RECEIVER = OPS / "receiver"
USES_RECEIVER = re.compile(r"ops\.receiver\b|from ops import .*\breceiver\b")


def _python_files(*roots: Path) -> list[Path]:
    """The project's own sources: not what a bench or a tool installed under a dot directory (bench/.venvs)."""
    return [f for root in roots for f in sorted(root.rglob("*.py"))
            if not any(part.startswith(".") for part in f.relative_to(root).parts)]


def test_outside_code_uses_only_the_receivers_public_interface() -> None:
    """ops/ and bench/ import `ops.receiver` and the names of its `__all__`, never one of its modules."""
    import ops.receiver

    public = set(ops.receiver.__all__)
    bad = []
    for f in _python_files(OPS, REPO / "bench"):
        if RECEIVER in f.parents:
            continue
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ops.receiver"):
                names = {alias.name for alias in node.names}
                if node.module != "ops.receiver" or names - public:
                    bad.append(f"{f.relative_to(REPO)}:{node.lineno} from {node.module} import {sorted(names)}")
            elif isinstance(node, ast.Import):
                bad += [f"{f.relative_to(REPO)}:{node.lineno} import {a.name}" for a in node.names
                        if a.name.startswith("ops.receiver.")]
    assert not bad, bad


def _private_members(path: Path) -> set[str]:
    """The `_name`s a module defines: at its top level, and as attributes and methods of its classes."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for top in tree.body:
        if isinstance(top, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(top.name)
        elif isinstance(top, ast.Assign | ast.AnnAssign):
            targets = top.targets if isinstance(top, ast.Assign) else [top.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for item in ast.walk(node):
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    names.add(item.name)
                elif isinstance(item, ast.Attribute) and isinstance(item.ctx, ast.Store):
                    names.add(item.attr)
                elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    names.add(item.target.id)
    return {n for n in names if n.startswith("_") and not n.endswith("__")}


def _reached(path: Path, private: set[str]) -> list[str]:
    """`x._name` for a private name in `private`, where x is not self or cls, and imports of one."""
    label = path.relative_to(REPO) if REPO in path.parents else path.name
    hits = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in private and not (
                isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
            hits.append(f"{label}:{node.lineno} .{node.attr}")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ops.receiver"):
            hits += [f"{label}:{node.lineno} import {a.name}" for a in node.names if a.name.startswith("_")]
    return hits


def test_no_private_member_of_the_receiver_is_reached_from_another_object() -> None:
    """Inside the package, each module's objects keep their `_private` members to themselves (the
    parts talk through names without an underscore); outside it (ops, bench, tests), no code
    reaches a private member of a receiver object."""
    modules = _python_files(RECEIVER)
    everything = set().union(*(_private_members(f) for f in modules))
    bad = [hit for f in modules for hit in _reached(f, everything)]
    users = [f for f in _python_files(OPS, REPO / "bench", REPO / "tests")
             if RECEIVER not in f.parents and USES_RECEIVER.search(f.read_text(encoding="utf-8"))]
    bad += [hit for f in users for hit in _reached(f, everything)]
    assert not bad, bad


def test_the_receiver_check_sees_a_private_reach(tmp_path: Path) -> None:
    module = tmp_path / "peek.py"
    module.write_text("from ops.receiver.uploads import _FLUSH\n_LIMIT = 1\nclass A:\n"
                      "    def f(self, receiver, uploads):\n        self._mine = _LIMIT\n"
                      "        return receiver._gate.sessions, self._mine, uploads._FLUSH\n")
    assert _private_members(module) == {"_mine", "_LIMIT"}
    assert sorted(_reached(module, {"_gate", "_mine", "_FLUSH"})) == [
        "peek.py:1 import _FLUSH", "peek.py:6 ._FLUSH", "peek.py:6 ._gate"]
