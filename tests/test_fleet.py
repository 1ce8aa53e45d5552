"""Issue "Fleet scale": receivers per site, and a run that never started is never reported ok."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ops.inventory import load_inventory
from ops.playbook import load_playbook
from ops.runner import RunOptions, run_playbook
from tests.helpers import REPO, run

TWO_SITES = """\
receiver: {listen: 127.0.0.1, port: 0, max_connections_per_host: 4}
groups:
  dc_east: {hosts: [east-1, east-2], receiver: {listen: 127.0.0.2, advertise: 127.0.0.2}}
  dc_west: {hosts: [west-1]}
  edge: {children: [dc_east], receiver: {listen: 127.0.0.3}}
  finesse: {children: [edge, dc_west]}
hosts:
  east-1: {lab: true}
  east-2: {lab: true}
  west-1: {lab: true}
"""


def test_each_site_pushes_to_its_own_receiver(tmp_path: Path) -> None:
    (tmp_path / "inventory.yaml").write_text(TWO_SITES)
    inventory = load_inventory(tmp_path / "inventory.yaml")
    # The nearest group's receiver wins (dc_east is a child of edge); limits stay the top-level ones.
    assert [inventory.hosts[h].site for h in ("east-1", "east-2", "west-1")] == ["dc_east", "dc_east", ""]
    east = inventory.receiver_for("dc_east")
    assert (east.listen, east.advertise, east.max_connections_per_host) == ("127.0.0.2", "127.0.0.2", 4)
    report = run(run_playbook(load_playbook(REPO / "playbooks" / "pull-desktop-logs.yaml", inventory), inventory,
                              RunOptions(output=tmp_path / "out")))
    assert all(r.status == "ok" and r.files for r in report.hosts.values()), report.hosts
    run_dir = tmp_path / "out" / report.run_id
    for host, address in (("east-1", "127.0.0.2"), ("east-2", "127.0.0.2"), ("west-1", "127.0.0.1")):
        transcript = (run_dir / host / "transcript.log").read_text()
        answered = [line for line in transcript.splitlines() if "SFTP server IP:" in line]
        assert answered and all(address in line for line in answered), (host, answered)
        manifest = json.loads((run_dir / host / "manifest.json").read_text())
        assert manifest and all((run_dir / host / "files" / e["path"]).stat().st_size == e["size"] for e in manifest)


def _with_nofile(soft: int, hard: int):  # type: ignore[no-untyped-def]
    import resource

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return apply


def test_the_soft_open_files_limit_is_raised_to_the_hard_one() -> None:
    import resource
    import subprocess
    import sys

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    cap = hard if hard != resource.RLIM_INFINITY else 65536
    if cap <= 256:
        cap = 256  # nothing to raise on this machine: the check below still runs, soft == hard
    code = "from ops.rlimits import raise_open_files; import resource; raise_open_files(); " \
           "print(resource.getrlimit(resource.RLIMIT_NOFILE)[0])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          preexec_fn=_with_nofile(min(256, cap), cap))
    assert int(done.stdout) == cap


@pytest.mark.once
def test_a_low_hard_limit_runs_fewer_hosts_at_once_and_never_runs_out(tmp_path: Path) -> None:
    """12 lab hosts under a hard limit of 200 descriptors: the run says it takes fewer hosts at once,
    and every host completes (no "Too many open files")."""
    import subprocess
    import sys

    hosts = "".join(f"  lab-{n}: {{lab: true}}\n" for n in range(12))
    (tmp_path / "inventory.yaml").write_text("hosts:\n" + hosts)
    (tmp_path / "book.yaml").write_text("name: v\nhosts: all\nsteps:\n  - name: version\n"
                                        "    cli: {command: show version active}\n")
    done = subprocess.run([sys.executable, "-m", "ops.cli", "run", "book.yaml", "-i", "inventory.yaml", "-o", "out",
                           "--forks", "50", "--json"], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          preexec_fn=_with_nofile(200, 200))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "5 hosts at once instead of 50: the open-files limit is 200" in done.stderr
    recap = json.loads(done.stdout.splitlines()[-1])
    assert len(recap["hosts"]) == 12 and all(h["status"] == "ok" for h in recap["hosts"].values())
    assert "Too many open files" not in done.stderr


def test_lab_hosts_past_the_hard_limit_are_refused_before_anything_starts(tmp_path: Path) -> None:
    """40 lab appliances under a hard limit of 300: without the check the run took a minute and failed every
    host with "Too many open files" (tried by hand); now it is refused at once, saying what to do."""
    import subprocess
    import sys

    hosts = "".join(f"  lab-{n}: {{lab: true}}\n" for n in range(40))
    (tmp_path / "inventory.yaml").write_text("hosts:\n" + hosts)
    (tmp_path / "book.yaml").write_text("name: v\nhosts: all\nsteps:\n  - name: version\n"
                                        "    cli: {command: show version active}\n")
    done = subprocess.run([sys.executable, "-m", "ops.cli", "run", "book.yaml", "-i", "inventory.yaml", "-o", "out"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          preexec_fn=_with_nofile(300, 300))
    assert done.returncode == 1
    assert "40 lab appliances need about" in done.stderr and "the limit is 300" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "out").exists()
