"""IANA time zone names, checked once where they are read (inventory hosts, abstime windows)."""

from __future__ import annotations

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
