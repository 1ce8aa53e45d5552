"""Random YAML, random bytes and random structures never give a traceback: an InputError or a playbook."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ops.inventory import load_inventory
from ops.playbook import load_playbook
from ops.yamlsource import InputError

CORPUS = Path(__file__).parent / "bad_inputs"
KEYS = ["name", "hosts", "vars", "steps", "activelog", "cli", "path", "reltime", "days", "abstime", "from", "to",
        "match", "recurs", "when", "register", "ignore_errors", "command", "prompts", "network_status", "service",
        "groups", "defaults", "password", "address", "port", "lab", "children", "receiver", "faults"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                    st.text(max_size=20), st.sampled_from(["{{ days }}", "{{ x.y }}", "{{", "env:X", "desktop/logs/*",
                                                           "finesse", "all", "18:00:10/20/13", "..", "!x"]))
trees = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), inner,
                                                 max_size=5)), max_leaves=25)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.yaml"
        path.write_bytes(text.encode("utf-8", errors="replace"))
        try:
            inventory = load_inventory(CORPUS / "_good_inventory.yaml")
            load_playbook(path, inventory)
        except InputError as exc:
            assert exc.problems and all(str(p) for p in exc.problems)
        try:
            load_inventory(path)
        except InputError as exc:
            assert exc.problems


@SETTINGS
@given(trees)
def test_random_structures_never_crash(tree: object) -> None:
    _check(yaml.safe_dump(tree, allow_unicode=True))


@SETTINGS
@given(st.text(max_size=300))
def test_random_text_never_crashes(text: str) -> None:
    _check(text)


@SETTINGS
@given(st.dictionaries(st.sampled_from(["name", "hosts", "vars", "steps"]), trees, max_size=4))
def test_playbook_shaped_documents_never_crash(doc: dict[str, object]) -> None:
    _check(yaml.safe_dump(doc, allow_unicode=True))
