"""`ui_password_reset` step: unlock the Finesse admin UI account by resetting its password twice.

After five failed sign-ins Finesse locks the admin UI (and diagnostic portal) account for up to
30 minutes without saying so. Resetting the password from the OS admin CLI unlocks it; doing it
twice, first to a temporary password and then back to the original, leaves the password as it
was:

```yaml
- name: Unlock the admin UI
  ui_password_reset: {password: "env:FINESSE_UI_PASSWORD"}   # the original, a secret reference
```
`utils reset_application_ui_administrator_password` is tried first and, where the appliance does
not know it, `utils reset_ui_administrator_password` (or name one with `command:`). The temporary
password is generated to meet the usual VOS policy (8 to 64 characters with upper and lower case
letters and digits). Neither password is shown anywhere. If the second reset fails, the
temporary password (now the live one) is written to `ui-password-TEMPORARY.txt` (mode 0600) in
the host's run directory and the step fails naming that file, so nobody is locked out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator

from ops.actions.base import Action, Args, HostContext, StepFailed, StepResult
from ops.fileio import write_atomic
from ops.parsers.errors import failure_reason, one_line
from ops.secrets import REFERENCE_FORMS, Secret, SecretError, is_reference, mask
from ops.session.channel import Answer, VOSChannel
from ops.session.errors import SessionError

if TYPE_CHECKING:
    from ops.inventory import Host

NEW_COMMAND = "utils reset_application_ui_administrator_password"
OLD_COMMAND = "utils reset_ui_administrator_password"
TEMP_FILE = "ui-password-TEMPORARY.txt"
TROUBLE_RE = re.compile(r"\b(?:fail\w*|error|invalid|not changed|do not match|does not meet)\b", re.I)


class UIPasswordArgs(Args):
    password: str = Field(description="the original password, as a secret reference")
    command: Literal["auto", "utils reset_application_ui_administrator_password",
                     "utils reset_ui_administrator_password"] = "auto"
    timeout: float = Field(60.0, gt=0)

    @field_validator("password")
    @classmethod
    def _reference(cls, value: str) -> str:
        if not is_reference(value):
            raise ValueError(f"password takes a secret reference ({REFERENCE_FORMS}), never the password itself")
        return value


def policy_problems(password: str, username: str = "admin") -> list[str]:
    """What the appliance's password policy would refuse in `password` (VOS releases ask for 8 to 64
    characters with upper and lower case letters and digits, no white space, not the user name)."""
    problems = []
    if not 8 <= len(password) <= 64:
        problems.append("it must be 8 to 64 characters long")
    if not any(c.isupper() for c in password):
        problems.append("it must contain an upper case letter")
    if not any(c.islower() for c in password):
        problems.append("it must contain a lower case letter")
    if not any(c.isdigit() for c in password):
        problems.append("it must contain a digit")
    if any(c.isspace() for c in password):
        problems.append("it must not contain white space")
    if username and username.lower() in password.lower():
        problems.append("it must not contain the user name")
    return problems


def meets_policy(password: str, username: str = "admin") -> bool:
    return not policy_problems(password, username)


def temporary_password() -> Secret:
    while True:
        candidate = Secret.generate(20, source="temporary admin UI password")
        if meets_policy(candidate.reveal()):
            return candidate


SUCCESS_RE = re.compile(r"\b(?:updated|changed|reset)\s+successfully\b|\bsuccessfully\s+(?:updated|changed|reset)\b",
                        re.I)


# What the appliance says when it did not change the password.
UNCHANGED_RE = re.compile(r"\bnot\s+(?:been\s+)?(?:changed|updated)\b|\bfailed\s+to\s+(?:update|change|reset)\b"
                          r"|\bdo\s+not\s+match\b", re.I)


class ResetFailed(Exception):
    """A reset that did not work. `changed` says what is known of the password afterwards:
    False (nothing was asked or the appliance said it was not changed), None (unknown)."""

    def __init__(self, reason: str, unknown_command: bool = False, changed: bool | None = False) -> None:
        super().__init__(reason)
        self.unknown_command = unknown_command
        self.changed = changed


async def reset_once(channel: VOSChannel, command: str, password: Secret, timeout: float) -> None:
    """One `utils reset_*_password` dialog; raises ResetFailed with the appliance's reason.

    The prompts' wording is unverified (the reference: they contain `password:`, then
    `Password:`), so the first two prompts ending in `password:` get the password, whatever comes
    before it (`New password:`, `Confirm New Password:`, `Re-enter Password:` ...).
    """
    answers = [Answer(r"(?i)password:", password, name="New Password"),
               Answer(r"(?i)password:", password, name="Confirm New Password")]
    result = await channel.dialog(command, answers, timeout=timeout, check=False)
    reason = failure_reason(result.output)
    if not result.answered:
        # Nothing was asked, so nothing changed: an unknown command (an older release), or one
        # that failed at once; the caller may try the other command.
        raise ResetFailed(reason or f"the appliance did not ask for a new password: {one_line(result.output)}",
                          unknown_command=True)
    if len(result.answered) < 2:
        raise ResetFailed(f"the appliance did not ask for the new password twice: {one_line(result.output)}")
    if SUCCESS_RE.search(result.output) and reason is None:
        return  # a success line wins over a stray word such as "error" elsewhere in the text
    if reason is not None or TROUBLE_RE.search(result.output):
        # "not changed" said in so many words is known; anything else leaves the password unknown.
        unchanged = UNCHANGED_RE.search(result.output) is not None
        raise ResetFailed(reason or one_line(result.output), changed=False if unchanged else None)


class UIPasswordResetAction(Action):
    name = "ui_password_reset"
    changes_state = True
    Args = UIPasswordArgs

    def secret_references(self, args: UIPasswordArgs) -> list[str]:
        return [args.password]

    def preflight(self, args: UIPasswordArgs, secrets: Mapping[str, Secret | None], host: Host | None) -> list[str]:
        original = secrets.get(args.password)
        if original is None:
            return []
        username = host.rest.username if host is not None and host.rest.username else "admin"
        problems = policy_problems(original.reveal(), username)
        if not problems:
            return []
        return [f"the original admin UI password ({args.password}) does not meet the appliance's password policy "
                f"({'; '.join(problems)}): the second reset would fail and leave the temporary password set, so "
                "nothing was started"]

    def commands(self, args: UIPasswordArgs) -> list[str]:
        command = NEW_COMMAND if args.command == "auto" else args.command
        fallback = f" (or {OLD_COMMAND} where the appliance only knows that)" if args.command == "auto" else ""
        return [f"{command}   (answers: a generated temporary password, twice){fallback}",
                f"{command}   (answers: the original password from {args.password}, twice)"]

    async def run(self, ctx: HostContext, args: UIPasswordArgs) -> StepResult:
        try:
            original = ctx.secret(args.password)
        except SecretError as exc:
            raise StepFailed(mask(str(exc))) from None
        temporary = temporary_password()
        channel = await ctx.channel()
        candidates = [NEW_COMMAND, OLD_COMMAND] if args.command == "auto" else [args.command]
        # Saved (0600) before the first reset is typed: if anything breaks after it (the session
        # drops, the run is killed), the live password is on disk and nobody is locked out.
        path = ctx.host_dir / TEMP_FILE
        write_atomic(path, temporary.reveal() + "\n", mode=0o600)
        used: str | None = None
        unknown: list[tuple[str, str]] = []  # (command, what the appliance said) of those it did not know
        for command in candidates:
            try:
                await reset_once(channel, command, temporary, args.timeout)
            except ResetFailed as exc:
                if exc.unknown_command and command != candidates[-1]:
                    unknown.append((command, mask(str(exc))))
                    continue
                earlier = f" (before it, {'; '.join(f'{c!r}: {why}' for c, why in unknown)})" if unknown else ""
                if exc.changed is False:
                    path.unlink(missing_ok=True)
                    raise StepFailed(f"first reset (to a temporary password) with {command!r} failed: "
                                     f"{mask(str(exc))}{earlier}; the admin UI password is unchanged",
                                     {"command": command}) from None
                raise StepFailed(
                    f"first reset (to a temporary password) with {command!r} ended unclearly: {mask(str(exc))}"
                    f"{earlier}. The admin UI password may now be the temporary one, which is in {path} (readable "
                    "only by you); sign in with it or with the original, then delete the file.",
                    {"command": command, "temporary_password_file": str(path)}) from None
            except SessionError as exc:
                raise StepFailed(
                    f"the session failed during the first reset with {command!r}: {mask(str(exc))}. The admin UI "
                    f"password may now be the temporary one, which is in {path} (readable only by you); sign in "
                    "with it or with the original, then delete the file.",
                    {"command": command, "temporary_password_file": str(path)}) from None
            used = command
            break
        assert used is not None
        data = {"command": used, "fallback": bool(unknown), "unknown_commands": [c for c, _ in unknown]}
        try:
            await reset_once(channel, used, original, args.timeout)
        except (ResetFailed, SessionError) as exc:
            raise StepFailed(
                f"SECOND RESET FAILED: the admin UI password was set to a temporary one, but setting it back to "
                f"the original ({args.password}) failed: {mask(str(exc))}. The temporary password, which is the "
                f"admin UI password now, is in {path} (readable only by you); sign in with it or run this step "
                "again, then delete the file.", {**data, "temporary_password_file": str(path)}) from None
        path.unlink(missing_ok=True)  # the original is confirmed: the temporary one is nobody's password now
        return StepResult(changed=True,
                          message=f"admin UI password reset twice with {used!r} (temporary, then the original): "
                                  "the account is unlocked", data={**data, "resets": 2})
