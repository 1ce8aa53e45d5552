"""The `ops` command as an admin runs it: exit codes, --check, --limit, the lab inventory, prompts."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from ops.lab.server import LabAppliance
from tests.helpers import LAB_PASSWORD, REPO, labs_elsewhere, on_a_terminal, run, write_inventory

OPS = [sys.executable, "-m", "ops.cli"]


def ops(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*OPS, *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def test_default_inventory_runs_the_shipped_playbook_against_lab_appliances(tmp_path: Path) -> None:
    result = ops("run", str(REPO / "playbooks" / "pull-desktop-logs.yaml"), "-i", str(REPO / "inventory.yaml"),
                 "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "finesse-a : ok" in result.stdout and "finesse-b : ok" in result.stdout
    (run_dir,) = [p for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")]
    report = json.loads((run_dir / "report.json").read_text())
    for host in ("finesse-a", "finesse-b"):
        manifest = json.loads((run_dir / host / "manifest.json").read_text())
        assert manifest, f"{host} received no files"
        for entry in manifest:
            data = (run_dir / host / "files" / entry["path"]).read_bytes()
            assert len(data) == entry["size"] and hashlib.sha256(data).hexdigest() == entry["sha256"]
        step = report["hosts"][host]["steps"][0]
        assert step["status"] == "changed" and step["data"]["files_received"] == len(manifest)
    # No temporary upload file is left behind under any name.
    assert not [p for p in run_dir.rglob("*.part-*")]


def test_check_mode_prints_commands_and_touches_nothing(tmp_path: Path) -> None:
    result = ops("run", str(REPO / "playbooks" / "pull-desktop-logs.yaml"), "-i", str(REPO / "inventory.yaml"),
                 "-o", str(tmp_path / "out"), "--check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "would send: file get activelog desktop/logs/* recurs reltime days 2" in result.stdout
    assert not (tmp_path / "out").exists()


def test_limit_selects_hosts_and_bad_limit_is_bad_input(tmp_path: Path) -> None:
    book = str(REPO / "playbooks" / "pull-desktop-logs.yaml")
    inv = str(REPO / "inventory.yaml")
    result = ops("run", book, "-i", inv, "--check", "--limit", "finesse-b", cwd=tmp_path)
    assert result.returncode == 0 and "finesse-b |" in result.stdout and "finesse-a |" not in result.stdout
    result = ops("run", book, "-i", inv, "--check", "--limit", "nosuchhost", cwd=tmp_path)
    assert result.returncode == 2 and "leaves no host" in result.stderr


def test_failed_host_gives_exit_1_and_bad_playbook_exit_2(tmp_path: Path) -> None:
    async def go() -> subprocess.CompletedProcess[str]:
        async with LabAppliance() as lab:  # its password is not the one the inventory names
            inventory = write_inventory(tmp_path / "inv.yaml", {"node1": lab})
            return await _async_ops(["run", str(REPO / "playbooks" / "pull-desktop-logs.yaml"), "-i",
                                     str(inventory), "-o", str(tmp_path / "out")], tmp_path,
                                    {"OPS_TEST_PW": "Wrong-Password-1"})

    result = run(go())
    assert result.returncode == 1, result.stdout + result.stderr
    assert "authentication failed" in result.stdout
    assert "Wrong-Password-1" not in result.stdout + result.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nhosts: all\nsteps: 3\n")
    result = ops("run", str(bad), "-i", str(REPO / "inventory.yaml"), cwd=tmp_path)
    assert result.returncode == 2 and f"{bad}:3: steps:" in result.stderr


async def _async_ops(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    import asyncio

    proc = await asyncio.create_subprocess_exec(*OPS, *args, cwd=cwd, env={**os.environ, **env},
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return subprocess.CompletedProcess(args, proc.returncode or 0, out.decode(), err.decode())


def test_password_prompt_is_answered_on_the_terminal_and_never_echoed(tmp_path: Path) -> None:
    """`prompt:` asks on the terminal (tests.helpers.on_a_terminal: pexpect in a process of its own,
    so nothing forks a multi-threaded process); the lab serves from a child process too."""
    with labs_elsewhere(tmp_path / "inv.yaml", 1) as inventory:
        inventory.write_text(inventory.read_text().replace("env:OPS_TEST_PW", "prompt:fin-0 admin password"))
        status, output = on_a_terminal([*OPS, "run", str(REPO / "playbooks" / "pull-desktop-logs.yaml"), "-i",
                                        str(inventory), "-o", str(tmp_path / "out")], tmp_path,
                                       [("fin-0 admin password: ", LAB_PASSWORD)], timeout=60)
    assert status == 0, output
    assert "fin-0 : ok" in output
    assert LAB_PASSWORD not in output


def test_ops_lab_serves_a_vos_cli_in_the_foreground(tmp_path: Path) -> None:
    import socket

    from ops.secrets import Secret
    from ops.session.channel import VOSChannel
    from ops.session.transport import HostKeyPolicy, Target, connect, open_shell

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([*OPS, "lab", "--port", str(port)], cwd=tmp_path, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "OPS_LAB_PASSWORD": LAB_PASSWORD})
    try:
        assert proc.stdout is not None
        banner = ""
        while "Ctrl-C to stop." not in banner:
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else "ops lab exited"
            banner += line
        fingerprint = "SHA256:" + banner.split("SHA256:", 1)[1].split()[0].rstrip(".,)")

        async def session() -> str:
            target = Target("lab", "127.0.0.1", port, "admin", Secret(LAB_PASSWORD),
                            HostKeyPolicy("fingerprint", fingerprint=fingerprint))
            conn = await connect(target)
            reader, writer = await open_shell(conn)
            channel = VOSChannel(reader, writer, "admin", host="lab")
            await channel.login()
            out = await channel.send("show version active")
            conn.close()
            return out

        assert "Active Master Version" in run(session())
        assert LAB_PASSWORD not in banner
        activelog = banner.split("activelog: ", 1)[1].split(" (", 1)[0]
        assert Path(activelog).is_dir()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert proc.returncode == 0
    assert not Path(activelog).exists(), "the lab's generated tree is removed on SIGTERM"
