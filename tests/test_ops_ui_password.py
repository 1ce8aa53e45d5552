"""ui_password_reset end to end: lockout, the twice-over unlock, the older command, failures, no leaks."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from ops.inventory import load_inventory
from ops.lab.server import LabAppliance, LabConfig
from ops.playbook import load_playbook
from ops.report import RunReport
from ops.runner import RunOptions, run_playbook
from ops.yamlsource import InputError
from tests.helpers import REPO, run, write_inventory

ORIGINAL = "Orig-UI-Secret-93"
UNLOCK = REPO / "playbooks" / "unlock-admin-ui.yaml"


@pytest.fixture
def generated(generated_secrets: list[str], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every generated secret value (the temporary password among them)."""
    monkeypatch.setenv("FINESSE_UI_PASSWORD", ORIGINAL)
    return generated_secrets


def unlock(tmp_path: Path, config: LabConfig, lock_first: bool = True) -> tuple[RunReport, Path, LabAppliance]:
    async def go() -> tuple[RunReport, LabAppliance]:
        async with LabAppliance(config) as lab:
            if lock_first:
                for _ in range(5):
                    assert not lab.admin_ui.sign_in("admin", "wrong-guess")
                assert lab.admin_ui.locked
                assert not lab.admin_ui.sign_in("admin", ORIGINAL)  # locked: even the right one is refused
            inventory = load_inventory(write_inventory(tmp_path / "inventory.yaml", {"node1": lab}))
            book = load_playbook(UNLOCK, inventory)
            report = await run_playbook(book, inventory, RunOptions(output=tmp_path / "collected", command_timeout=20))
            return report, lab

    report, lab = run(go())
    return report, tmp_path / "collected" / report.run_id, lab


def no_secret_anywhere(run_dir: Path, values: list[str], skip: Path | None = None) -> None:
    for path in run_dir.rglob("*"):
        if path.is_file() and path != skip:
            text = path.read_text(errors="replace")
            for value in values:
                assert value not in text, f"a password is in {path}"


def test_locked_account_is_unlocked_by_the_twice_over_reset(tmp_path: Path, lab_env: Callable[..., LabConfig],
                                                           generated: list[str],
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    report, run_dir, lab = unlock(tmp_path, lab_env(ui_password=ORIGINAL))
    host = report.hosts["node1"]
    assert host.status == "ok", host.error
    step = host.steps[0]
    assert step.status == "changed" and "unlocked" in step.message
    assert step.data["command"] == "utils reset_application_ui_administrator_password" and not step.data["fallback"]
    assert not lab.admin_ui.locked and lab.admin_ui.resets == 2
    assert lab.admin_ui.sign_in("admin", ORIGINAL)
    transcript = (run_dir / "node1" / "transcript.log").read_text()
    assert transcript.count("Password updated successfully.") == 2
    assert not (run_dir / "node1" / "ui-password-TEMPORARY.txt").exists()
    no_secret_anywhere(run_dir, [ORIGINAL, *generated])
    out = capsys.readouterr()
    assert not any(v in out.out + out.err for v in [ORIGINAL, *generated])


def test_older_releases_fall_back_to_reset_ui_administrator_password(
        tmp_path: Path, lab_env: Callable[..., LabConfig], generated: list[str]) -> None:
    config = lab_env(ui_password=ORIGINAL, ui_reset_command="utils reset_ui_administrator_password")
    report, run_dir, lab = unlock(tmp_path, config)
    step = report.hosts["node1"].steps[0]
    assert step.status == "changed", step.message
    assert step.data["command"] == "utils reset_ui_administrator_password" and step.data["fallback"]
    assert step.data["unknown_commands"] == ["utils reset_application_ui_administrator_password"]
    assert lab.admin_ui.sign_in("admin", ORIGINAL)


def test_failed_second_reset_leaves_the_temporary_password_in_a_0600_file(
        tmp_path: Path, lab_env: Callable[..., LabConfig], generated: list[str]) -> None:
    report, run_dir, lab = unlock(tmp_path, lab_env(ui_password=ORIGINAL, ui_reset_breaks_after=1))
    host = report.hosts["node1"]
    assert host.status == "failed"
    message = host.steps[0].message
    secret_file = run_dir / "node1" / "ui-password-TEMPORARY.txt"
    assert "SECOND RESET FAILED" in message and str(secret_file) in message
    assert "platform database is not available" in message
    assert stat.S_IMODE(os.stat(secret_file).st_mode) == 0o600
    temporary = secret_file.read_text().strip()
    assert temporary in generated
    assert lab.admin_ui.sign_in("admin", temporary)  # nobody is locked out
    no_secret_anywhere(run_dir, [ORIGINAL, temporary], skip=secret_file)


def test_failed_first_reset_changes_nothing(tmp_path: Path, lab_env: Callable[..., LabConfig],
                                            generated: list[str]) -> None:
    report, run_dir, lab = unlock(tmp_path, lab_env(ui_password=ORIGINAL, ui_reset_breaks_after=0), lock_first=False)
    message = report.hosts["node1"].steps[0].message
    assert "first reset" in message and "unchanged" in message
    assert not (run_dir / "node1" / "ui-password-TEMPORARY.txt").exists()
    assert lab.admin_ui.sign_in("admin", ORIGINAL)


def test_original_breaking_the_policy_is_refused_before_the_first_reset(
        tmp_path: Path, lab_env: Callable[..., LabConfig], generated: list[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A weak original would pass the first reset and fail the second, leaving the temporary
    # password set: the run refuses to start instead, and the appliance is never touched.
    from ops.preflight import PreflightError

    monkeypatch.setenv("FINESSE_UI_PASSWORD", "weakpassword")
    with pytest.raises(PreflightError, match="does not meet the appliance's password policy") as info:
        unlock(tmp_path, lab_env(ui_password="weakpassword"), lock_first=False)
    assert "weakpassword" not in str(info.value)
    assert not (tmp_path / "collected").exists()


def test_a_dropped_session_after_the_first_reset_leaves_the_live_password_on_disk(
        tmp_path: Path, lab_env: Callable[..., LabConfig], generated: list[str]) -> None:
    # The temporary password is saved (0600) before the first reset is typed: a session that
    # drops after it leaves the live password where the admin can find it.
    report, run_dir, lab = unlock(tmp_path, lab_env(ui_password=ORIGINAL, faults=("drop_after_ui_reset",)),
                                  lock_first=False)
    step = report.hosts["node1"].steps[0]
    assert step.status == "failed"
    saved = run_dir / "node1" / "ui-password-TEMPORARY.txt"
    assert oct(saved.stat().st_mode & 0o777) == "0o600"
    assert lab.admin_ui.sign_in("admin", saved.read_text().strip())
    assert str(saved) in step.message


def test_a_reset_whose_output_mentions_an_error_but_succeeded_is_a_success() -> None:
    run(_reset(["New Password:", "Confirm New Password:",
                "\r\nNo error log was written.\r\nPassword updated successfully.\r\nadmin:"]))


def test_a_first_reset_that_ends_unclearly_never_claims_the_password_is_unchanged() -> None:
    from ops.actions.ui_password import ResetFailed

    with pytest.raises(ResetFailed) as info:
        run(_reset(["New Password:", "Confirm New Password:", "\r\nAn error occurred.\r\nadmin:"]))
    assert info.value.changed is None


def test_clear_text_password_is_refused_at_load_time(tmp_path: Path) -> None:
    book = tmp_path / "pb.yaml"
    book.write_text("name: t\nhosts: all\nsteps:\n  - name: r\n    ui_password_reset: {password: Hunter2-pw}\n")
    with pytest.raises(InputError, match="secret reference"):
        load_playbook(book)


class _Dialog:
    """A CLI that echoes typed lines (asterisks after a password prompt) and answers each line
    with the next of `replies`."""

    def __init__(self, replies: list[str]) -> None:
        self.replies = replies
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.secret_next = False

    def write(self, data: str) -> None:
        # Typed characters echo as they come; only the return makes the CLI answer.
        for ch in data:
            if ch != "\n":
                self.queue.put_nowait("*" if self.secret_next else ch)
                continue
            self.queue.put_nowait("\r\n")
            reply = self.replies.pop(0) if self.replies else "admin:"
            self.secret_next = reply.lower().rstrip().endswith("password:")
            self.queue.put_nowait(reply)

    async def read(self, n: int = -1) -> str:
        return await self.queue.get()


async def _reset(replies: list[str]) -> None:
    from ops.actions.ui_password import reset_once
    from ops.secrets import Secret
    from ops.session.channel import VOSChannel

    app = _Dialog(replies)
    channel = VOSChannel(app, app, "admin", timeout=2.0, host="node1", settle=0.05)  # type: ignore[arg-type]
    app.queue.put_nowait("admin:")
    await channel.login(pagination_off=False)
    await reset_once(channel, "utils reset_application_ui_administrator_password", Secret("Tmp-Pw-4471x!"), 2.0)


@pytest.mark.parametrize("prompts", [
    ("New Password:", "Confirm New Password:"),   # the lab's, after utils reset_3rdpartygadget_password
    ("New password:", "Re-enter Password:"),
    ("Password:", "Password:"),
    ("Enter the new password:", "Please confirm the new password:"),
])
def test_the_reset_answers_any_two_password_prompts(prompts: tuple[str, str]) -> None:
    """The prompts' wording is unverified (the reference: `password:` then `Password:`)."""
    run(_reset([prompts[0], prompts[1], "\r\nPassword updated successfully.\r\nadmin:"]))


@pytest.mark.parametrize(("replies", "unknown", "reason"), [
    (["Invalid command: utils reset_application_ui_administrator_password\r\nadmin:"], True, "did not ask"),
    (["Executed command unsuccessfully\r\nadmin:"], True, "Executed command unsuccessfully"),
    (["New password:", "Passwords must be at least 8 characters\r\nExecuted command unsuccessfully\r\nadmin:"],
     False, "did not ask for the new password twice"),
    (["New password:", "Confirm password:", "\r\nPasswords do not match\r\nadmin:"], False, "do not match"),
])
def test_a_reset_that_fails_says_whether_anything_was_asked(replies: list[str], unknown: bool, reason: str) -> None:
    """Nothing asked means nothing changed (the other command may be tried); asked and failed is a
    failure with the appliance's words."""
    from ops.actions.ui_password import ResetFailed

    with pytest.raises(ResetFailed, match=reason) as info:
        run(_reset(list(replies)))
    assert info.value.unknown_command is unknown
