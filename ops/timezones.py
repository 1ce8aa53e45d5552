"""IANA time zone names, checked once where they are read (inventory hosts, abstime windows), and the
appliance's clock: the time it reads, by its own clock and in its own zone."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator


def zone(name: str) -> ZoneInfo:
    """The zone named `name`, or ValueError saying what is expected."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (use an IANA name such as Europe/Berlin)") from None


def _checked(name: str) -> str:
    zone(name)
    return name


# A field holding an IANA zone name, checked when the model is validated.
ZoneName = Annotated[str, AfterValidator(_checked)]


@dataclass(frozen=True)
class ApplianceClock:
    """How an appliance reads the time: its clock's lead over ours (seconds, as `utils ntp status`
    measured it; 0 when not measured) and its zone (the inventory's `timezone`; None: ours).

    VOS prints `file list ... detail` times on its wall clock and evaluates `reltime` by its own
    clock, so a window replayed over its listing must be read by this clock, not by ours."""

    skew: float = 0.0
    zone: str | None = None

    def now(self) -> datetime:
        """The appliance's wall clock now, without a zone attached (as its listings print times)."""
        return wall_time(time.time() + self.skew, self.zone)


def wall_time(moment: float, name: str | None) -> datetime:
    """Epoch seconds as a wall clock in zone `name` reads them (None: ours), without a zone attached."""
    if name is None:
        return datetime.fromtimestamp(moment)
    return datetime.fromtimestamp(moment, zone(name)).replace(tzinfo=None)
