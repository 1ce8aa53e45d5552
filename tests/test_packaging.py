"""What `pip install finesse-ops` gets (issue 15): the license and the typing marker travel in the wheel."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.helpers import REPO

pytestmark = pytest.mark.once  # a wheel's contents do not change with the interpreter


@pytest.mark.timeout(300)
def test_the_wheel_carries_the_license_and_py_typed(tmp_path: Path) -> None:
    # Built from a copy: a build writes build/ and *.egg-info beside the sources.
    source = tmp_path / "src"
    shutil.copytree(REPO, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv*", "bench", "tests", "collected", "build", "*.egg-info", "__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path / "dist"),
                    str(source)], check=True, capture_output=True, cwd=tmp_path)
    (wheel,) = (tmp_path / "dist").glob("finesse_ops-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "ops/py.typed" in names
    assert "ops/starter/inventory.yaml" in names and "ops/starter/playbooks/pull-desktop-logs.yaml" in names
    assert any(n.endswith("/LICENSE") for n in names)
    assert "License: MIT" in metadata
