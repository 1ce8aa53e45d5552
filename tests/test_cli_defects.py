"""`ops` defects found by use: a reader that goes away (`| head`), `--resume latest`, `--version`,
and `-q` saying where a failed run's files are."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from ops.cli import main
from tests.helpers import REPO

OPS = [sys.executable, "-m", "ops.cli"]


def _closed_stdout(args: list[str], cwd: Path) -> tuple[int, str]:
    """Run ops with a stdout pipe whose reader is gone before anything is written: each write
    fails with EPIPE, as `ops ... | head` once head has exited."""
    proc = subprocess.Popen([*OPS, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    try:
        err = proc.stderr.read()
        return proc.wait(timeout=120), err
    finally:
        proc.kill()
        proc.wait()


def _book(tmp_path: Path, name: str = "nightly") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\nhosts: finesse\nsteps:\n  - name: version\n"
                    "    cli: {command: show version active}\n")
    return path


def _inventory(tmp_path: Path, lab: str = "true") -> Path:
    path = tmp_path / "inventory.yaml"
    path.write_text(f"groups: {{finesse: {{hosts: [n]}}}}\nhosts: {{n: {{lab: {lab}}}}}\n")
    return path


def _runs(output: Path) -> list[Path]:
    return sorted(p for p in output.iterdir() if not p.name.startswith("."))


def test_schema_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    status, err = _closed_stdout(["schema", "playbook"], tmp_path)
    assert (status, err) == (0, "")


def test_run_into_a_closed_pipe_runs_to_its_end_quietly(tmp_path: Path) -> None:
    status, err = _closed_stdout(["run", str(_book(tmp_path)), "-i", str(_inventory(tmp_path)),
                                  "-o", str(tmp_path / "out"), "--no-progress", "-v"], tmp_path)
    assert status == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err
    (run_dir,) = _runs(tmp_path / "out")
    report = json.loads((run_dir / "report.json").read_text())
    assert report["hosts"]["n"]["status"] == "ok"


def test_resume_latest_is_this_playbooks_newest_run(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    book, other, inventory, out = _book(tmp_path), _book(tmp_path, "other"), _inventory(tmp_path), tmp_path / "out"
    common = ["-i", str(inventory), "-o", str(out), "--no-progress"]
    assert main(["run", str(other), *common, "--resume", "latest"]) == 2
    assert "cannot resume latest" in capsys.readouterr().err
    assert main(["run", str(book), *common]) == 0
    (first,) = _runs(out)
    assert main(["run", str(other), *common]) == 0  # now the newest run in out, but of another playbook
    capsys.readouterr()
    assert main(["run", str(book), *common, "--resume", "latest"]) == 0, capsys.readouterr().err
    assert f"run directory: {first}" in capsys.readouterr().out
    assert len(_runs(out)) == 2
    # A path to a run directory, as every RUN_ID is taken, relative or absolute.
    monkeypatch.chdir(tmp_path)
    for ref in (str(first), os.path.relpath(first)):
        assert main(["run", str(book), *common, "--resume", ref]) == 0, capsys.readouterr().err
        assert f"run directory: {first}" in capsys.readouterr().out
    assert main(["run", str(book), *common, "--resume", "nope"]) == 2
    assert "cannot resume nope" in capsys.readouterr().err
    assert len(_runs(out)) == 2


def test_version_comes_from_the_package_metadata(tmp_path: Path) -> None:
    result = subprocess.run([*OPS, "--version"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"ops {version('finesse-ops')}"


def test_quiet_failure_names_the_run_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    inventory = _inventory(tmp_path, "{faults: [auth_failure]}")
    assert main(["run", str(_book(tmp_path)), "-i", str(inventory), "-o", str(out), "-q"]) == 1
    captured = capsys.readouterr()
    (run_dir,) = _runs(out)
    assert captured.out == ""
    assert f"run directory: {run_dir}" in captured.err.splitlines()
    # Quiet and all ok: nothing at all.
    assert main(["run", str(_book(tmp_path)), "-i", str(_inventory(tmp_path)), "-o", str(out), "-q"]) == 0
    assert capsys.readouterr() == ("", "")
