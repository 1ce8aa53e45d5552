"""The hostile-terminal soak: many seeded sessions, every CLI step kind, checked against the lab's truth.

Each session is one lab appliance with its own hostile profile seed, driven by the real runner
through one playbook that uses every CLI step kind. Two oracles, neither of them the toolkit:

- the lab's journal: every line the appliance read, with the prompt or question it was typed
  at. An answer at the wrong question (a password typed at `admin:`, a command typed at
  `New Password:`, `y` typed at `SFTP server IP:`) is a problem;
- the lab's state and the step's parsed result: files received versus the files the appliance
  pushed, clients parsed versus clients the lab serves, the UI password back to the original,
  the cache cleared once, Tomcat started. A step whose result belongs to another command (the
  session one prompt behind) is a problem.

A session may also fail cleanly (LostTrack, a read-only command that failed three times); that
is counted, not hidden, and must name what happened. `run_soak` returns the counts and every
problem with the seed that reproduces it.
"""

from __future__ import annotations

import dataclasses
import random
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ops.inventory import load_inventory
from ops.lab.hostile import HostileProfile
from ops.lab.server import LabAppliance, LabConfig
from ops.lab.terminal import Exchange
from ops.playbook import load_playbook
from ops.runner import RunOptions, run_playbook
from tests.helpers import LAB_PASSWORD, write_inventory

UI_PASSWORD = "Finesse-UI-pw1"
PLAYBOOK = """\
name: Hostile soak
hosts: finesse
steps:
  - name: Version
    cli: {command: show version active}
  - name: Desktop clients
    network_status: {search: ":8445"}
  - name: Desktop logs
    activelog: {path: desktop/logs/webservices/*, reltime: {days: 20}}
  - name: Clear the REST cache
    webproxy_cache_clear: {cache: rest}
  - name: Restart Tomcat
    service: {action: restart, name: Cisco Finesse Tomcat}
  - name: Unlock the admin UI
    ui_password_reset: {password: "env:FINESSE_UI_PASSWORD"}
"""
SOAK_ZONES = (None, "Asia/Kolkata", "America/New_York", "Europe/Berlin", "Pacific/Kiritimati", "Pacific/Pago_Pago")
COMMANDS = {
    "set cli pagination off", "show version active", "utils ntp status", "show network status nodns search :8445",
    "file get activelog desktop/logs/webservices/* reltime days 20", "utils webproxy cache clear rest",
    "utils service restart Cisco Finesse Tomcat", "utils service list",
    "utils reset_application_ui_administrator_password", "quit", "file list activelog desktop/logs/webservices",
    "file list activelog desktop/logs/webservices detail",
}
# A failure that is clean: it names the lost session, or a read-only command the appliance kept failing.
CLEAN_FAILURE = re.compile(r"lost track of the session|Executed command unsuccessfully")


@dataclass
class SoakResult:
    sessions: int = 0
    ok: int = 0
    clean_failures: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def merge(self, other: SoakResult) -> None:
        self.sessions += other.sessions
        self.ok += other.ok
        self.clean_failures += other.clean_failures
        self.problems += other.problems


def journal_problems(journal: Sequence[Exchange], receiver_host: str) -> list[str]:
    """Answers typed at the wrong question, read off the appliance's own journal."""
    problems = []
    resets: list[str] = []
    for ex in journal:
        line = " ".join(ex.line.split())
        prompt = ex.prompt
        if prompt == "admin:":
            if line not in COMMANDS:
                problems.append(f"{line!r} typed at the admin: prompt")
        elif prompt.startswith("Would you like to proceed"):
            ok = line == "y"
        elif prompt == "SFTP server IP:":
            ok = line == receiver_host
        elif prompt.startswith("SFTP server port"):
            ok = line.isdigit()
        elif prompt == "User ID:":
            ok = re.fullmatch(r"[A-Za-z0-9_.-]+", line) is not None and line not in COMMANDS
        elif prompt == "Password:":
            ok = ex.secret and bool(line) and line not in COMMANDS
        elif prompt == "Download directory:":
            ok = line.startswith("/")
        elif prompt.startswith("Are you sure you want to continue connecting"):
            ok = line == "yes"
        elif prompt in ("New Password:", "Confirm New Password:"):
            ok = ex.secret and line not in COMMANDS
            resets.append(ex.line)
        else:
            problems.append(f"{line!r} typed at a question the soak does not know: {prompt!r}")
            continue
        if prompt != "admin:" and not ok:
            problems.append(f"{line!r} typed at {prompt!r}")
    pairs = [resets[i:i + 2] for i in range(0, len(resets), 2)]
    if any(len(p) != 2 or p[0] != p[1] for p in pairs):
        problems.append("a password reset got two different passwords")
    if pairs and pairs[-1][0] != UI_PASSWORD:
        problems.append("the last password reset did not set the original password")
    return problems


def result_problems(lab: LabAppliance, record: Any, host_dir: Path) -> list[str]:
    """The host's step results against what the lab knows to be true."""
    problems = []
    steps = {s.name: s for s in record.steps}
    done = {name for name, s in steps.items() if s.status in ("ok", "changed")}  # a step that did its work
    version = steps.get("Version")
    if "Version" in done and version is not None:
        if f"Active Master Version: {lab.config.version}" not in version.data.get("output", ""):
            problems.append(f"`show version active` gave another command's output: {version.data.get('output')!r}")
    clients = steps.get("Desktop clients")
    if "Desktop clients" in done and clients is not None:
        got = clients.data["summary"]["ports"].get("8445", {}).get("remote_clients")
        if got != lab.config.desktop_clients:
            problems.append(f"network status parsed {got} desktop clients, the lab serves {lab.config.desktop_clients}")
    if "Desktop logs" in done:
        received = {Path(f["path"]).name for f in record.files}
        expected = {f.name for f in lab.select("desktop/logs/webservices/*", reltime=("days", 20))}
        if not expected or received != expected:
            problems.append(f"received {len(received)} files, the lab holds {len(expected)} that match")
    if "Clear the REST cache" in done:
        if lab.webproxy_cache_generation != 1:
            problems.append(f"cache cleared {lab.webproxy_cache_generation} times, not once")
    if "Restart Tomcat" in done:
        if lab.services.get("Cisco Finesse Tomcat") != "STARTED":
            problems.append("Tomcat reported restarted but is not STARTED")
    unlock = steps.get("Unlock the admin UI")
    if "Unlock the admin UI" in done:
        if not lab.admin_ui.check_password(UI_PASSWORD) or lab.admin_ui.resets != 2:
            problems.append("the admin UI password is not back to the original after two resets")
    elif unlock is not None and lab.admin_ui.resets and not lab.admin_ui.check_password(UI_PASSWORD):
        if not (host_dir / "ui-password-TEMPORARY.txt").exists():
            problems.append("left on the temporary UI password without saving it")
    return problems


LabStarter = Callable[[LabConfig], Awaitable[LabAppliance]]


async def soak_batch(tmp: Path, seeds: Sequence[int], *, profile: HostileProfile, start_lab: LabStarter,
                     forks: int = 16, label: str = "asyncssh") -> SoakResult:
    """One run of the soak playbook over one lab per seed; checks every session."""
    labs: dict[str, LabAppliance] = {}
    result = SoakResult()
    try:
        for seed in seeds:
            # Each appliance's clock off ours by up to 250 s (within max_clock_skew), in a zone of its own.
            draw = random.Random(f"soak-clock:{seed}")
            config = LabConfig(hostname=f"soak-{seed}", password=LAB_PASSWORD, ui_password=UI_PASSWORD,
                               desktop_clients=3 + seed % 7, service_delay=0.0,
                               hostile=dataclasses.replace(profile, seed=seed),
                               clock_skew=draw.uniform(-250, 250), timezone=draw.choice(SOAK_ZONES))
            labs[config.hostname] = await start_lab(config)
        (tmp / "soak.yaml").write_text(PLAYBOOK)
        inventory = load_inventory(write_inventory(tmp / "inventory.yaml", labs))
        book = load_playbook(tmp / "soak.yaml", inventory)
        report = await run_playbook(book, inventory, RunOptions(output=tmp / "collected", forks=forks,
                                                                command_timeout=30))
        run_dir = tmp / "collected" / report.run_id
        for name, lab in labs.items():
            seed = lab.config.hostile.seed if lab.config.hostile else -1
            where = f"[{label} seed {seed}]"
            result.sessions += 1
            record = report.hosts[name]
            problems = [p for journal in lab.journals for p in journal_problems(journal, "127.0.0.1")]
            problems += result_problems(lab, record, run_dir / name)
            result.problems += [f"{where} {p}" for p in problems]
            if record.status == "ok":
                result.ok += 1
            else:
                error = record.error or next((s.message for s in record.steps if s.status == "failed"), "")
                if CLEAN_FAILURE.search(error or ""):
                    result.clean_failures.append(f"{where} {error}")
                else:
                    result.problems.append(f"{where} failed without a clean reason: {error}")
    finally:
        for lab in labs.values():
            await lab.stop()
    return result


async def start_asyncssh_lab(config: LabConfig) -> LabAppliance:
    lab = LabAppliance(config)
    await lab.start("127.0.0.1", 0)
    return lab


async def start_sshd_lab(config: LabConfig) -> LabAppliance:
    lab = LabAppliance(dataclasses.replace(config, sshd=True))
    await lab.start("127.0.0.1", 0)
    return lab
