"""Small inputs that used to hang or crash the loaders, and patterns that backtrack without end (issue 14)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from ops.cli import main
from ops.patterns import PatternTimeout, compile_pattern, search
from ops.secrets import SecretError, resolve
from ops.session.channel import Answer, VOSChannel
from ops.session.errors import LostTrack
from tests.helpers import LAB_PASSWORD, REPO, run
from tests.test_session_channel import ScriptedAppliance

INVENTORY = str(REPO / "tests" / "bad_inputs" / "_good_inventory.yaml")


def validate(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str],
             monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, float]:
    monkeypatch.setenv("OPS_TEST_PW", "x-not-used-x")
    book = tmp_path / "pb.yaml"
    book.write_text(text)
    started = time.monotonic()
    code = main(["validate", str(book), "-i", INVENTORY])
    return code, capsys.readouterr().err, time.monotonic() - started


def laughs(levels: int) -> str:
    lines = ["name: t", "hosts: finesse", "vars:", "  l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels)]
    lines += ["steps:", "  - name: s", f"    cli: {{command: show version active, prompts: *l{levels - 1}}}"]
    return "\n".join(lines) + "\n"


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("text", "expected"), [
    (laughs(9), "expands to more than"),
    ("name: t\nhosts: finesse\nvars: &a {x: *a}\nsteps: []\n", "alias"),
    ("name: t\nhosts: finesse\nvars:\n  ? [a, b]\n  : 1\nsteps:\n  - {name: s, cli: {command: x}}\n",
     "mapping key must be a plain value"),
    ("name: t\nhosts: finesse\nsteps:\n  - name: s\n    when: " + "not " * 5000 + "x\n    cli: {command: x}\n",
     "limit is"),
    ("name: t\nhosts: finesse\nsteps:\n  - name: s\n    cli:\n      command: utils x\n"
     "      prompts: [{expect: 'Name:', answer: \"a\\nutils service stop Cisco Tomcat\"}]\n", "one line"),
    ("name: t\nhosts: finesse\nsteps:\n  - name: s\n    activelog: {path: desktop/logs/*, directory: \"/x\\ny\"}\n",
     "one line"),
], ids=["billion-laughs", "recursive-alias", "sequence-key", "5000-nots", "newline-in-answer",
        "newline-in-directory"])
def test_small_hostile_documents_fail_fast_naming_the_problem(tmp_path: Path, text: str, expected: str,
                                                               capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    code, err, took = validate(tmp_path, text, capsys, monkeypatch)
    assert code == 2, err
    assert expected in err
    assert "Traceback" not in err and took < 10


@pytest.mark.timeout(30)
def test_a_fifo_as_the_playbook_is_refused_without_blocking(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "pb.yaml"
    os.mkfifo(fifo)
    assert main(["validate", str(fifo), "-i", INVENTORY]) == 2
    assert "not a regular file" in capsys.readouterr().err


@pytest.mark.timeout(30)
def test_secret_files_are_read_bounded(tmp_path: Path) -> None:
    with pytest.raises(SecretError, match="over 65536 bytes"):
        resolve("file:/dev/zero")
    huge = tmp_path / "huge"
    with huge.open("wb") as handle:
        handle.truncate(1 << 30)  # 1 GiB, sparse
    with pytest.raises(SecretError, match="over 65536 bytes"):
        resolve(f"file:{huge}")


@pytest.mark.timeout(30)
def test_a_catastrophic_pattern_is_stopped_in_a_fraction_of_a_second() -> None:
    started = time.monotonic()
    with pytest.raises(PatternTimeout, match="took over"):
        search(compile_pattern(r"(a|aa)+$"), "a" * 40 + "!", what="match")
    assert time.monotonic() - started < 5
    assert search(compile_pattern(r"Desktop-.*\.log$"), "Desktop-webservices.1.log")


@pytest.mark.timeout(60)
def test_a_catastrophic_fail_when_fails_its_step_and_the_host_goes_on(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from ops.inventory import load_inventory
    from ops.lab.server import LabAppliance, LabConfig
    from ops.playbook import load_playbook
    from ops.runner import RunOptions, run_playbook
    from tests.helpers import write_inventory

    monkeypatch.setenv("OPS_TEST_PW", LAB_PASSWORD)
    book = tmp_path / "pb.yaml"
    book.write_text("name: t\nhosts: finesse\nsteps:\n"
                    "  - name: who\n    cli: {command: show myself, fail_when: '(a|aa)+$'}\n    ignore_errors: true\n"
                    "  - name: version\n    cli: {command: show version active}\n")

    async def go() -> object:
        async with LabAppliance(LabConfig(hostname="a" * 40, password=LAB_PASSWORD)) as lab:
            inventory = load_inventory(write_inventory(tmp_path / "inventory.yaml", {"node1": lab}))
            return await run_playbook(load_playbook(book, inventory), inventory,
                                      RunOptions(output=tmp_path / "out", command_timeout=20))

    started = time.monotonic()
    report = run(go())
    steps = report.hosts["node1"].steps  # type: ignore[attr-defined]
    assert steps[0].status == "ignored" and "took over" in steps[0].message
    assert steps[1].status == "ok"
    assert time.monotonic() - started < 30


def test_the_channel_never_types_a_line_break() -> None:
    app = ScriptedAppliance({"utils x": ["Name:"]})

    async def go() -> None:
        ch = VOSChannel(app, app, "admin", timeout=3, host="node1", settle=0.02, quiet=0.01)
        app.queue.put_nowait("admin:")
        await ch.login(pagination_off=False)
        with pytest.raises(ValueError, match="line break"):
            await ch.send("show x\nutils service stop Cisco Tomcat")
        with pytest.raises(LostTrack, match="line break"):
            await ch.dialog("utils x", [Answer("Name:", "a\nutils service stop Cisco Tomcat")])

    run(go())
    assert not any("stop" in w for w in app.written)
