"""Faults a lab appliance can be told to have, so tests prove the toolkit copes with each.

Set per host in the inventory (`lab: {faults: [hang_dialog]}`) or in a test's LabConfig.
"""

from __future__ import annotations

import asyncio

FAULTS: dict[str, str] = {
    "refused": "nothing listens on the appliance's port (connection refused)",
    "auth_failure": "every login is refused, whatever the credentials",
    "no_prompt": "the banner comes, the admin: prompt never does",
    "hang_dialog": "file get activelog stops answering after 'Would you like to proceed'",
    "disconnect_dialog": "the session drops right after the SFTP password is typed",
    "sftp_disconnect": "the SFTP push drops the connection in the middle of the last file",
    "short_transfer": "the push skips the last file but still says 'Transfer completed.'",
    "short_bytes": "the push sends only half of the last file but still says 'Transfer completed.'",
    "command_fails": "file get activelog ends with 'Executed command unsuccessfully'",
    "host_key_changed": "the SSH server presents another host key than the one it announced",
    "clock_skew": "the appliance's clock runs three hours ahead (`utils ntp status` shows it unsynchronised)",
    "drop_after_ui_reset": "the session drops right after the first admin UI password reset succeeded",
    "busy_answer": "file get activelog answers in words the toolkit has never seen (no file summary, no error)",
}


def check(faults: tuple[str, ...] | list[str]) -> None:
    unknown = [f for f in faults if f not in FAULTS]
    if unknown:
        raise ValueError(f"unknown lab fault(s) {', '.join(unknown)}; known: {', '.join(FAULTS)}")


async def hang() -> None:
    """Wait until the session is torn down, as a stuck appliance does."""
    await asyncio.Event().wait()
