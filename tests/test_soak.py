"""The hostile-terminal soak (issue 13): seeded sessions over every CLI step kind, 0 desyncs, 0 wrong answers.

CI runs a share (OPS_SOAK_SESSIONS, default 48 sessions a lab); `python bench/soak.py` runs the
full count. A problem prints the seed that reproduces it: OPS_SOAK_SEED=N starts there.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ops.lab.hostile import HostileProfile
from ops.lab.sshd import available as sshd_available
from tests.helpers import run
from tests.soak import SoakResult, soak_batch, start_asyncssh_lab, start_sshd_lab

SESSIONS = int(os.environ.get("OPS_SOAK_SESSIONS", "48"))
FIRST_SEED = int(os.environ.get("OPS_SOAK_SEED", "1000"))
BATCH = 16


def soak(tmp_path: Path, starter: object, label: str, sessions: int = SESSIONS) -> SoakResult:
    total = SoakResult()
    for first in range(FIRST_SEED, FIRST_SEED + sessions, BATCH):
        seeds = range(first, min(first + BATCH, FIRST_SEED + sessions))
        work = tmp_path / f"batch-{first}"
        work.mkdir()
        total.merge(run(soak_batch(work, list(seeds), profile=HostileProfile(), start_lab=starter,  # type: ignore[arg-type]
                                   label=label)))
    return total


@pytest.fixture
def soak_env(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.helpers import LAB_PASSWORD
    from tests.soak import UI_PASSWORD

    monkeypatch.setenv("OPS_TEST_PW", LAB_PASSWORD)
    monkeypatch.setenv("FINESSE_UI_PASSWORD", UI_PASSWORD)


@pytest.mark.timeout(600)
@pytest.mark.long
def test_hostile_soak_on_the_asyncssh_lab(tmp_path: Path, soak_env: None) -> None:
    result = soak(tmp_path, start_asyncssh_lab, "asyncssh")
    assert result.sessions == SESSIONS
    assert not result.problems, "\n".join(result.problems)
    # Clean failures are allowed (they name what happened) but must stay rare.
    assert result.ok >= 0.9 * result.sessions, "\n".join(result.clean_failures)


@pytest.mark.timeout(600)
@pytest.mark.long
def test_hostile_soak_behind_a_real_sshd_and_pty(tmp_path: Path, soak_env: None) -> None:
    why = sshd_available()
    if why is not None and not os.environ.get("OPS_ALLOW_SKIPS"):
        pytest.fail(f"the sshd lab cannot run here: {why} (tests/setup-system.sh installs it)")
    elif why is not None:
        pytest.skip(why)
    result = soak(tmp_path, start_sshd_lab, "sshd")
    assert result.sessions == SESSIONS
    assert not result.problems, "\n".join(result.problems)
    assert result.ok >= 0.9 * result.sessions, "\n".join(result.clean_failures)


@pytest.mark.timeout(300)
def test_a_prompt_redrawn_later_than_settle_never_desyncs(tmp_path: Path, soak_env: None) -> None:
    """Redraws up to 1.5 s after the first prompt, past the 0.5 s settle: they may land on the
    marker (`set cli pagination off`); the session is then lost cleanly, never one prompt behind."""
    profile = HostileProfile(redraws_min=1, redraws_max=2, redraw_pause=1.5, banner_delay=0.0)
    result = run(soak_batch(tmp_path, list(range(5000, 5008)), profile=profile, start_lab=start_asyncssh_lab,
                            label="late-redraw"))
    assert result.sessions == 8
    assert not result.problems, "\n".join(result.problems)
    assert all("lost track of the session" in f for f in result.clean_failures), result.clean_failures
