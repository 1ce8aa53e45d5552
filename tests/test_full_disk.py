"""A full disk ends a run with a clear message, never a traceback (issue 14, class 8)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import REPO


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs: room for a run directory, not for the logs it pulls."""
    if os.geteuid() != 0 and not os.environ.get("OPS_ALLOW_SKIPS"):
        pytest.fail("this test mounts a tmpfs: run it as root (CI does)")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("already_full", [False, True])
def test_a_full_disk_ends_the_run_clearly(small_disk: Path, already_full: bool, tmp_path: Path) -> None:
    if already_full:
        try:
            with (small_disk / "filler").open("wb") as handle:
                while True:
                    handle.write(b"x" * 4096)
                    handle.flush()
        except OSError:
            pass  # full
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "ops.cli", "run", str(REPO / "playbooks" / "pull-desktop-logs.yaml"),
                           "-i", str(REPO / "inventory.yaml"), "-o", str(small_disk / "out"), "-q"],
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=110)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode != 0
    assert "No space left on device" in done.stderr or "quota" in done.stderr or "failed" in done.stderr
