"""`utils ntp status`: the appliance's own clock, to compare with ours before time-window pulls."""

from __future__ import annotations

import re
from datetime import UTC, datetime

UTC_LINE_RE = re.compile(r"Current time in UTC is\s*:\s*\w{3}\s+(\w{3})\s+(\d{1,2})\s+"
                         r"(\d{2}:\d{2}:\d{2})\s+UTC\s+(\d{4})")


def appliance_time(text: str) -> datetime | None:
    """The `Current time in UTC is : Wed Nov 25 10:00:00 UTC 2026` line as an aware datetime."""
    match = UTC_LINE_RE.search(text)
    if match is None:
        return None
    month, day, clock, year = match.groups()
    try:
        return datetime.strptime(f"{year} {month} {day} {clock}", "%Y %b %d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None
