"""`ops bundle`: the tar.gz unpacks to exactly what the manifests list, secrets stay out, tampering is caught."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from ops.bundle import BundleError, make_bundle
from ops.inventory import load_inventory
from ops.playbook import load_playbook
from ops.runner import Runner, RunOptions
from ops.secrets import Secret
from tests.helpers import REPO, run

BOOK = """\
name: Everything a bundle holds
hosts: finesse
steps:
  - name: Desktop logs
    activelog: {path: desktop/logs/*, recurs: true, reltime: {days: 2}}
  - name: Desktop clients
    network_status: {process: true, search: ":8445", save_as: desktop-8445}
  - name: SystemInfo
    finesse_system_info: {}
"""


def lab_run(base: Path, book: str = BOOK) -> Path:
    """A real run of the default inventory's two lab appliances; returns the run directory."""
    path = base / "book.yaml"
    path.write_text(book)
    inventory = load_inventory(REPO / "inventory.yaml")
    runner = Runner(load_playbook(path, inventory), inventory, RunOptions(output=base / "out"))
    report = run(runner.run())
    assert not report.failed_hosts, report.hosts
    return runner.run_dir


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return lab_run(tmp_path_factory.mktemp("run"))


@pytest.fixture
def run_dir(pristine: Path, tmp_path: Path) -> Path:
    """A private copy of the run, for tests that change it."""
    return Path(shutil.copytree(pristine, tmp_path / "out" / pristine.name, symlinks=True))


def _unpack(bundle: Path, into: Path) -> Path:
    with tarfile.open(bundle) as tar:
        names = tar.getnames()
        tar.extractall(into, filter="data")
    assert all(n.split("/")[0] == bundle.name.removesuffix(".tar.gz") for n in names), names
    return into / bundle.name.removesuffix(".tar.gz")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_bundle_unpacks_to_what_the_manifests_list(run_dir: Path, tmp_path: Path) -> None:
    result = make_bundle(run_dir)
    assert result.path == run_dir.parent / f"{run_dir.name}.tar.gz" and not result.excluded
    # The .sha256 file is in sha256sum format and matches.
    assert result.sha256_path.read_text() == f"{_sha(result.path)}  {result.path.name}\n"
    if shutil.which("sha256sum"):
        subprocess.run(["sha256sum", "-c", result.sha256_path.name], cwd=result.path.parent, check=True,
                       capture_output=True)
    out = _unpack(result.path, tmp_path / "unpacked")
    report = json.loads((out / "report.json").read_text())
    assert (out / "report.json").read_bytes() == (run_dir / "report.json").read_bytes()
    for host in ("finesse-a", "finesse-b"):
        manifest = json.loads((out / host / "manifest.json").read_text())
        assert manifest
        assert (out / host / "manifest.json").read_bytes() == (run_dir / host / "manifest.json").read_bytes()
        # files/ holds exactly the manifest's entries, byte for byte.
        assert _tree(out / host / "files") == {e["path"] for e in manifest}
        for entry in manifest:
            data = (out / host / "files" / entry["path"]).read_bytes()
            assert len(data) == entry["size"] and hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert report["hosts"][host]["files"] == manifest
        for name in ("transcript.log", "network-status-desktop-8445.json", "network-status-desktop-8445.csv"):
            assert (out / host / name).is_file(), name
    # Nothing else of the run directory is missing, and BUNDLE.txt indexes every other member.
    assert _tree(out) == _tree(run_dir) | {"BUNDLE.txt"}
    index = (out / "BUNDLE.txt").read_text()
    for rel in _tree(run_dir):
        member = out / rel
        assert f"{_sha(member)}  {member.stat().st_size:>12}  {run_dir.name}/{rel}" in index, rel
    assert "EXCLUDED (0)" in index


def test_secrets_and_temporary_files_stay_out_and_are_named(run_dir: Path, tmp_path: Path) -> None:
    secret = Secret("Temp-Ui-Pass-90210", source="test")
    (run_dir / "finesse-a" / "ui-password-TEMPORARY.txt").write_text(secret.reveal() + "\n")
    files = run_dir / "finesse-a" / "files"
    (files / ".half.log.part-0123456789ab").write_bytes(b"half a file")
    (files / "desktop" / "short.log").write_bytes(b"did not arrive whole")
    (run_dir / ".report.json.abcd1234.tmp").write_text("{")
    transcript = run_dir / "finesse-b" / "transcript.log"
    transcript.write_text(transcript.read_text() + f"admin:echo {secret.reveal()}\n")

    result = make_bundle(run_dir, tmp_path / "case" / "for-tac.tar.gz")
    assert result.path.is_file() and result.sha256_path == tmp_path / "case" / "for-tac.tar.gz.sha256"
    excluded = dict(result.excluded)
    assert "live admin UI password" in excluded["finesse-a/ui-password-TEMPORARY.txt"]
    assert "temporary upload" in excluded["finesse-a/files/.half.log.part-0123456789ab"]
    assert "did not arrive whole" in excluded["finesse-a/files/desktop/short.log"]
    assert ".report.json.abcd1234.tmp" in excluded
    with tarfile.open(result.path) as tar:
        names = tar.getnames()
        blobs = b"".join(tar.extractfile(m).read() for m in tar.getmembers() if m.isfile())  # type: ignore[union-attr]
        index = tar.extractfile(f"{run_dir.name}/BUNDLE.txt").read().decode()  # type: ignore[union-attr]
    assert not [n for n in names if "TEMPORARY" in n or ".part-" in n or n.endswith(".tmp")]
    assert secret.reveal().encode() not in blobs  # the transcript was masked again on the way in
    assert f"{run_dir.name}/finesse-a/ui-password-TEMPORARY.txt: a live admin UI password" in index
    assert "(masked again)" in index and "does not know the run's passwords" in index


def test_a_file_that_differs_from_its_manifest_stops_the_bundle(run_dir: Path) -> None:
    manifest = json.loads((run_dir / "finesse-b" / "manifest.json").read_text())
    victim = run_dir / "finesse-b" / "files" / manifest[0]["path"]
    victim.write_bytes(victim.read_bytes() + b"tampered")
    with pytest.raises(BundleError, match=f"finesse-b/files/{manifest[0]['path']}: differs from"):
        make_bundle(run_dir)
    victim.unlink()
    with pytest.raises(BundleError, match=f"finesse-b/files/{manifest[0]['path']}: listed in .* but missing"):
        make_bundle(run_dir)
    # Nothing half-written is left next to the run directory.
    assert sorted(p.name for p in run_dir.parent.iterdir()) == [run_dir.name]


def test_ops_bundle_command(run_dir: Path) -> None:
    ops = [sys.executable, "-m", "ops.cli", "bundle"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([*ops, "latest", "--output", str(run_dir.parent)], capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    bundle = run_dir.parent / f"{run_dir.name}.tar.gz"
    assert str(bundle) in result.stdout and _sha(bundle) in result.stdout
    # A run id under --output and a path to the run directory name the same run.
    result = subprocess.run([*ops, run_dir.name, "--output", str(run_dir.parent), "-o", str(run_dir.parent / "b.tgz")],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0 and (run_dir.parent / "b.tgz.sha256").is_file(), result.stderr
    result = subprocess.run([*ops, "no-such-run", "--output", str(run_dir.parent)], capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 2 and "no-such-run" in result.stderr
    (run_dir / "finesse-a" / "manifest.json").write_text("[{\"path\": \"gone.log\", \"size\": 1, \"sha256\": \"x\"}]")
    result = subprocess.run([*ops, str(run_dir)], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 1 and "finesse-a/files/gone.log" in result.stderr


@pytest.mark.parametrize("name", ["ui-password-TEMPORARY.txt", "forged\nffff  1  run/evil.log", "bell\x07.log"])
def test_pushed_file_names_can_neither_forge_the_index_nor_stop_the_bundle(name: str, run_dir: Path,
                                                                          tmp_path: Path) -> None:
    """An appliance may push a file with any name: it is bundled by its manifest entry, and the index
    shows it on one line, control characters escaped."""
    host = run_dir / "finesse-a"
    pushed = host / "files" / "desktop" / name
    pushed.parent.mkdir(parents=True, exist_ok=True)
    pushed.write_bytes(b"pushed by the appliance")
    manifest = json.loads((host / "manifest.json").read_text())
    manifest.append({"path": f"desktop/{name}", "size": 23,
                     "sha256": hashlib.sha256(b"pushed by the appliance").hexdigest()})
    (host / "manifest.json").write_text(json.dumps(manifest))
    result = make_bundle(run_dir, tmp_path / "b.tar.gz")
    assert f"finesse-a/files/desktop/{name}" in [m.name for m in result.members]
    with tarfile.open(result.path) as tar:
        index = tar.extractfile(f"{run_dir.name}/BUNDLE.txt").read().decode()  # type: ignore[union-attr]
    assert "\nffff  1  run/evil.log" not in index and "\x07" not in index
    lines = [line for line in index.splitlines() if "desktop/" in line and ("forged" in line or "bell" in line
                                                                             or "TEMPORARY" in line)]
    assert len(lines) == 1
