"""The bad-input corpus: each broken file gives an error naming its file, line and key, and exit code 2."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ops.cli import main
from ops.inventory import load_inventory
from ops.playbook import load_playbook
from ops.yamlsource import MAX_NODES, InputError

CORPUS = Path(__file__).parent / "bad_inputs"
CASES = sorted(p for p in CORPUS.glob("*.yaml") if not p.name.startswith("_"))
EXPECT_RE = re.compile(r"^# expect: (\d+): (.*)$")


def _expectation(path: Path) -> tuple[int, str]:
    match = EXPECT_RE.match(path.read_text().splitlines()[0])
    assert match, f"{path.name} lacks its '# expect: LINE: message' header"
    return int(match.group(1)), match.group(2)


def test_corpus_is_big_enough() -> None:
    assert len(CASES) >= 10


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_bad_input_is_reported_with_its_location(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPS_TEST_PW", "x-not-used-x")
    line, message = _expectation(case)
    with pytest.raises(InputError) as info:
        if case.name.startswith("inventory-"):
            load_playbook(CORPUS / "_good_playbook.yaml", load_inventory(case))
        else:
            load_playbook(case, load_inventory(CORPUS / "_good_inventory.yaml"))
    rendered = [str(p) for p in info.value.problems]
    # file:line: (file:line:column: for a YAML syntax error)
    at = re.compile(rf"^{re.escape(str(case))}:{line}(:\d+)?: ")
    assert any(at.match(r) and message in r for r in rendered), rendered


@pytest.mark.parametrize("case", [c for c in CASES if c.name.startswith("playbook-")][:3], ids=lambda p: p.stem)
def test_validate_command_exits_2_and_names_the_place(case: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line, message = _expectation(case)
    assert main(["validate", str(case), "-i", str(CORPUS / "_good_inventory.yaml")]) == 2
    err = capsys.readouterr().err
    assert f"{case}:{line}: " in err and message in err


def test_good_files_validate(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPS_TEST_PW", "x-not-used-x")  # validate checks the secret resolves
    assert main(["validate", str(CORPUS / "_good_playbook.yaml"), "-i", str(CORPUS / "_good_inventory.yaml")]) == 0
    assert "ok (1 steps, 1 host(s))" in capsys.readouterr().out


@pytest.mark.timeout(30)
def test_nested_aliases_load_without_walking_every_expansion(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A few hundred bytes of nested aliases expand to billions of values: refused at once, by line."""
    monkeypatch.setenv("OPS_TEST_PW", "x-not-used-x")
    levels = ["    l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    levels += [f"    l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
    path = tmp_path / "inventory.yaml"
    path.write_text("defaults: {password: env:OPS_TEST_PW}\ngroups: {finesse: {hosts: [node1]}}\nhosts:\n"
                    "  node1:\n    address: 10.0.0.1\n    vars:\n" + "\n".join("  " + line for line in levels)
                    + "\n    port: 70000\n")
    with pytest.raises(InputError) as info:
        load_inventory(path)
    assert [str(p) for p in info.value.problems] == [
        f"{path}:13: invalid YAML: expands to more than {MAX_NODES} values (aliases nested in aliases)"]


@pytest.mark.parametrize("kind", ["playbook", "inventory"])
def test_a_file_over_the_size_limit_is_refused_unread(kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from ops.yamlsource import MAX_FILE_BYTES

    monkeypatch.setenv("OPS_TEST_PW", "x-not-used-x")
    big = tmp_path / f"{kind}.yaml"
    big.write_text("# padding\n" * (MAX_FILE_BYTES // 10 + 1))
    args = ["validate", str(big if kind == "playbook" else CORPUS / "_good_playbook.yaml"),
            "-i", str(big if kind == "inventory" else CORPUS / "_good_inventory.yaml")]
    assert main(args) == 2
    assert f"the limit is {MAX_FILE_BYTES}" in capsys.readouterr().err


@pytest.mark.once
def test_inventory_loading_is_linear_in_hosts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """10k hosts took 2.9 s and 50k took 38 s (a lookup per host and group). Four times the hosts must
    take well under the sixteen times a quadratic load would (best of three, a generous ratio)."""
    import time

    monkeypatch.setenv("OPS_TEST_PW", "x-not-used-x")

    def best(count: int) -> float:
        path = tmp_path / f"inventory-{count}.yaml"
        lines = ["defaults: {password: env:OPS_TEST_PW}", "groups:",
                 f"  finesse: {{hosts: [{', '.join(f'h{i}' for i in range(count))}]}}",
                 "  voice: {children: [finesse]}", "hosts:"]
        lines += [f"  h{i}: {{address: 10.0.{i // 250 % 250}.{i % 250}}}" for i in range(count)]
        path.write_text("\n".join(lines) + "\n")
        times = []
        for _ in range(3):
            # CPU time of this process: other tests' workers sharing the cores do not inflate it.
            started = time.process_time()
            assert len(load_inventory(path).hosts) == count
            times.append(time.process_time() - started)
        return min(times)

    small, large = best(1000), best(4000)
    assert large / small < 8, (small, large)
