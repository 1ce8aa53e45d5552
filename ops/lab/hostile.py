"""The hostile terminal profile: how a lab appliance's CLI session misbehaves the way real ones do.

Each behaviour is taken from the field (see ../shared/vos-cli-reference.md and issue 13):

- the banner comes slowly, and the prompt is drawn, then redrawn one to three times after a
  pause, before the CLI reads its first line (what typed-ahead input meets on a real box);
- output leaves in random pieces, down to single bytes, with pauses between some of them;
- stray ANSI sequences (`ESC[0m`, cursor moves) come before prompts;
- echo is the terminal's, not the program's: typed characters are echoed the moment they
  arrive, between the pieces of whatever the CLI is printing (a pty's line discipline does that);
- the pager still appears now and then after `set cli pagination off`;
- line ends are a mix of CRLF and LF;
- read-only commands now and then print only `Executed command unsuccessfully`.

A profile is deterministic for its seed: session N of an appliance draws from
`random.Random(f"{seed}:{hostname}:{N}")`, so a failing soak names the seed that reproduces it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any

__all__ = ["HostileProfile", "HostileSession", "profile_from", "READ_ONLY_PREFIXES"]

# Commands that change nothing on the appliance (what the random failure may hit).
READ_ONLY_PREFIXES = ("show ", "file list ", "utils ntp status", "utils service list")

_STRAY_ANSI = ("\x1b[0m", "\x1b[K", "\x1b[1G", "\x1b[?25h", "\x1b[0m\x1b[K", "\x1b[2K\x1b[1G")


@dataclass(frozen=True)
class HostileProfile:
    """What the hostile terminal does; every probability is per occasion (prompt, write, command)."""

    seed: int = 0
    banner_delay: float = 0.3  # at most this long before the banner (a uniform draw)
    redraws_min: int = 1  # the first prompt is redrawn this many times at least ...
    redraws_max: int = 3  # ... and at most
    redraw_pause: float = 0.25  # at most this long before each redraw (a uniform draw)
    tiny_chunks: float = 0.3  # share of writes cut into pieces of 1 to 3 bytes (else up to 512)
    chunk_pause: float = 0.003  # at most this long between some of the pieces
    stray_ansi: float = 0.5  # chance of stray ANSI before a prompt or question
    kernel_echo: bool = True  # echo as a pty does, at arrival, interleaved with output
    pager_after_off: float = 0.25  # chance that long output pages although pagination is off
    crlf_mix: float = 0.3  # chance that a line ends in LF alone rather than CRLF
    flaky_read_only: float = 0.08  # chance that a read-only command prints only the failure line

    def session(self, hostname: str, index: int) -> HostileSession:
        return HostileSession(self, random.Random(f"{self.seed}:{hostname}:{index}"))


class HostileSession:
    """One session's draws from its profile."""

    def __init__(self, profile: HostileProfile, rng: random.Random) -> None:
        self.profile = profile
        self.rng = rng

    def chance(self, p: float) -> bool:
        return p > 0 and self.rng.random() < p

    def banner_delay(self) -> float:
        return self.rng.uniform(0, self.profile.banner_delay)

    def redraw_pauses(self) -> list[float]:
        count = self.rng.randint(self.profile.redraws_min, max(self.profile.redraws_min, self.profile.redraws_max))
        return [self.rng.uniform(0.01, max(0.01, self.profile.redraw_pause)) for _ in range(count)]

    def stray_ansi(self) -> str:
        return self.rng.choice(_STRAY_ANSI) if self.chance(self.profile.stray_ansi) else ""

    def line_ends(self, text: str) -> str:
        """`text` with each LF as CRLF or, at random, LF alone."""
        if "\n" not in text:
            return text
        parts = text.split("\n")
        out = [parts[0]]
        for part in parts[1:]:
            out.append("\n" if self.chance(self.profile.crlf_mix) else "\r\n")
            out.append(part)
        return "".join(out)

    def pieces(self, data: bytes) -> Iterator[tuple[bytes, float]]:
        """`data` in random pieces, each with the pause to take after it."""
        tiny = self.chance(self.profile.tiny_chunks)
        i = 0
        while i < len(data):
            size = self.rng.randint(1, 3) if tiny else self.rng.randint(1, 512)
            pause = self.rng.uniform(0, self.profile.chunk_pause) if self.chance(0.2) else 0.0
            yield data[i:i + size], pause
            i += size

    def pager_despite_off(self) -> bool:
        return self.chance(self.profile.pager_after_off)

    def fails_read_only(self, line: str) -> bool:
        lowered = " ".join(line.lower().split()) + " "
        return lowered.startswith(READ_ONLY_PREFIXES) and self.chance(self.profile.flaky_read_only)


def profile_from(value: bool | Mapping[str, Any] | HostileProfile | None) -> HostileProfile | None:
    """The profile an inventory's or test's `hostile:` asks for (True: the defaults; a mapping: overrides)."""
    if value is None or value is False:
        return None
    if isinstance(value, HostileProfile):
        return value
    if value is True:
        return HostileProfile()
    known = {f.name: f.type for f in fields(HostileProfile)}
    unknown = sorted(set(value) - set(known))
    if unknown:
        raise ValueError(f"unknown hostile terminal option(s) {', '.join(unknown)}; known: {', '.join(known)}")
    checked: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(item, bool) != (key == "kernel_echo") or not isinstance(item, (int, float)):
            raise ValueError(f"hostile.{key} must be {'true or false' if key == 'kernel_echo' else 'a number'}")
        if item < 0:
            raise ValueError(f"hostile.{key} must not be negative")
        checked[key] = item
    profile = HostileProfile(**checked)
    if profile.redraws_min > profile.redraws_max:
        raise ValueError("hostile.redraws_min is above hostile.redraws_max")
    return profile
