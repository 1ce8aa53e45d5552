"""`utils reset_application_ui_administrator_password` (older: `utils reset_ui_administrator_password`).

Resets the Finesse admin UI account (`LabAppliance.admin_ui`), which also clears its lockout.
Only `config.ui_reset_command` exists on a given lab; the other is an invalid command there,
as on a release that predates (or postdates) it. The dialog is modelled on the documented
`utils reset_3rdpartygadget_password`:

    New Password:********
    Confirm New Password:********
    Updating password for admin...

    Password updated successfully.

The lab's password policy (the real one is not documented; this one is typical of VOS):
8 to 64 characters, at least one upper case letter, one lower case letter and one digit, no
white space, and not containing the account name. A password that breaks it, or a
confirmation that differs, prints the reason and `Executed command unsuccessfully`, and the
password is left as it was. `config.ui_reset_breaks_after = N` makes every reset after the
first N successful ones fail (to test what happens when the second of two resets fails).
"""

from __future__ import annotations

from ops.lab.commands import CommandContext, CommandError, command, no_args
from ops.lab.terminal import SessionClosed

NEW = "utils reset_application_ui_administrator_password"
OLD = "utils reset_ui_administrator_password"
MIN_LENGTH, MAX_LENGTH = 8, 64


def policy_problems(password: str, username: str) -> list[str]:
    """Why `password` is refused by the lab's policy (empty when it is accepted)."""
    problems = []
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        problems.append(f"it must be {MIN_LENGTH} to {MAX_LENGTH} characters long")
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


async def _reset(ctx: CommandContext, args: list[str], which: str) -> None:
    lab = ctx.lab
    if lab.config.ui_reset_command.split() != which.split():
        raise CommandError(f"Invalid command: {which.split()[1]}")
    no_args(args)
    account = lab.admin_ui
    password = await ctx.term.readline("New Password:", secret=True)
    confirm = await ctx.term.readline("Confirm New Password:", secret=True)
    if password != confirm:
        raise CommandError("The passwords do not match. The password was not changed.")
    problems = policy_problems(password, account.username)
    if problems:
        raise CommandError("The password does not meet the password policy: " + "; ".join(problems) + ".",
                           "The password was not changed.")
    await ctx.term.writeline(f"Updating password for {account.username}...")
    limit = lab.config.ui_reset_breaks_after
    if limit is not None and account.resets >= limit:
        raise CommandError("", "Failed to update the password: the platform database is not available.")
    account.reset_password(password)
    if "drop_after_ui_reset" in lab.config.faults and account.resets == 1:
        raise SessionClosed("fault: drop_after_ui_reset")
    await ctx.term.writeline()
    await ctx.term.writeline("Password updated successfully.")


@command(NEW, usage=NEW)
async def reset_application_ui_administrator_password(ctx: CommandContext, args: list[str]) -> None:
    """Reset the admin UI password (current releases)."""
    await _reset(ctx, args, NEW)


@command(OLD, usage=OLD)
async def reset_ui_administrator_password(ctx: CommandContext, args: list[str]) -> None:
    """Reset the admin UI password (older releases)."""
    await _reset(ctx, args, OLD)
