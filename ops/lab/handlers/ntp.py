"""`utils ntp status`: NTP peers and the appliance's clock (which the `clock_skew` fault moves)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from ops.lab.commands import CommandContext, command, no_args


@command("utils ntp status", usage="utils ntp status")
async def utils_ntp_status(ctx: CommandContext, args: list[str]) -> None:
    """Print ntpd's peers, its sync state and the current time in UTC, as VOS does."""
    no_args(args)
    theirs = ctx.lab.clock()
    skew = theirs - time.time()
    now = datetime.fromtimestamp(theirs, UTC)
    synced = abs(skew) < 1
    lines = [
        "ntpd (pid 3121) is running...",
        "",
        "     remote           refid      st t when poll reach   delay   offset  jitter",
        "==============================================================================",
        f"{'*' if synced else ' '}10.1.1.1        .GPS.            1 u  512 1024  377    0.512  "
        f"{skew * 1000 if not synced else 0.012:8.3f}   0.021",
        "",
        "synchronised to NTP server (10.1.1.1) at stratum 2" if synced else "unsynchronised",
        "   time correct to within 22 ms" if synced else "  time server re-starting",
        "   polling server every 1024 s",
        "",
        f"Current time in UTC is : {now:%a %b %d %H:%M:%S} UTC {now:%Y}",
    ]
    await ctx.term.page(lines)
