"""Open-file limits: a run over many hosts holds many descriptors at once.

Each host holds its SSH session, its incoming SFTP connection and the files being written, and a
lab host its appliance's listeners as well; 1,000 hosts are past the soft limit of 1,024 open
files most machines start a shell with. `ops run` raises the soft limit as far as the hard limit
allows (as OpenSSH's sshd and nginx do), and when even that is short, runs fewer hosts at once
instead of failing with "Too many open files" halfway.
"""

from __future__ import annotations

__all__ = ["PER_HOST", "RESERVED", "TooFewFiles", "fit_forks", "raise_open_files"]


class TooFewFiles(Exception):
    """The lab appliances of a run alone would need more descriptors than the limit allows."""

# Measured (peak /proc/self/fd over 40 lab hosts, pull-desktop-logs and health-check): a lab
# appliance holds about 7 descriptors while it runs, a host in progress about 4 more (its session,
# the appliance's push, the receiver's side, the file being written); both rounded up.
PER_HOST = 8  # descriptors one host in progress may hold: session, SFTP connection, uploads, REST
PER_LAB_HOST = 8  # a lab appliance's own, for the whole run: SSH and HTTPS listeners, its connections
RESERVED = 64  # the interpreter, logs, the receiver's listeners, the run's own files


def raise_open_files() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit (never lowering it); the soft limit now in force."""
    try:
        import resource
    except ImportError:  # not a POSIX system
        return 1 << 20
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


def fit_forks(forks: int, limit: int, lab_hosts: int) -> int:
    """The hosts that may run at once within `limit` descriptors, lab appliances (all started up front)
    counted first; at least 1."""
    room = limit - RESERVED - lab_hosts * PER_LAB_HOST
    if room < PER_HOST:
        raise TooFewFiles(f"{lab_hosts} lab appliances need about {lab_hosts * PER_LAB_HOST + RESERVED + PER_HOST} "
                          f"open files and the limit is {limit} (the hard limit: ulimit -Hn); raise it, or run "
                          "fewer lab hosts at a time (--limit)")
    return max(1, min(forks, room // PER_HOST))
