"""finesse-ops benchmarks: `python bench/run.py [--full] [--only rtt,sftp,streams,fanout,nornir,fleet,cold]`.

Prints one Markdown table of medians, each peer's ratio to ops (or to the floor) and whether
each target of issues 5 and 20 is met. Every peer runs in its own subprocess with the Python of the venv
that has it (bench/setup.sh makes those venvs; it is run here when they are missing). See
bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
PEERS = BENCH / "peers"
VENVS = BENCH / ".venvs"
MAIN_PY = REPO / ".venv" / "bin" / "python"
CURRENT_PY = VENVS / "current" / "bin" / "python"
CLASSIC_PY = VENVS / "classic" / "bin" / "python"
SSHD = Path("/usr/sbin/sshd")
SFTP_SERVER = Path("/usr/lib/openssh/sftp-server")
CIPHER = "aes128-gcm@openssh.com"
LAB_PASSWORD = "bench-Lab-pw-7731"
MIB = 1024 * 1024
T = TypeVar("T")


@dataclass
class Row:
    """One line of the results table."""

    bench: str
    peer: str
    median: str
    ratio: str = ""
    target: str = ""
    note: str = ""


@dataclass
class Results:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *args: str, **kw: str) -> None:
        row = Row(*args, **kw)
        self.rows.append(row)
        print(f"  {row.bench} | {row.peer} | {row.median} | {row.ratio} | {row.target} {row.note}",
              file=sys.stderr, flush=True)

    def markdown(self) -> str:
        lines = ["| benchmark | peer | median | ratio | target |", "| --- | --- | --- | --- | --- |"]
        for r in self.rows:
            target = f"{r.target} {r.note}".strip()
            lines.append(f"| {r.bench} | {r.peer} | {r.median} | {r.ratio} | {target} |")
        return "\n".join(lines + [""] + [f"- {n}" for n in self.notes])


def verdict(ok: bool, text: str) -> str:
    return f"{'met' if ok else '**NOT met**'}: {text}"


# -- processes ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening(port: int) -> bool:
    """Whether a socket listens on the loopback port (without connecting: `sftpserver` serves
    exactly one connection at a time, and a probe would block it)."""
    with open("/proc/net/tcp") as fh:
        return any(f"0100007F:{port:04X}" == cols[1] and cols[3] == "0A"
                   for cols in (line.split() for line in fh.readlines()[1:]))


def wait_port(port: int, proc: subprocess.Popen[Any], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode} before listening on {port}")
        if listening(port):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port} after {timeout:g}s")


@contextlib.contextmanager
def server(cmd: list[str], **kw: Any) -> Iterator[subprocess.Popen[str]]:
    """A background process, in its own process group, ended (and waited for) on exit."""
    proc = subprocess.Popen(cmd, text=True, start_new_session=True, **kw)
    try:
        yield proc
    finally:
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def read_json_line(stream: IO[str] | None) -> dict[str, Any]:
    assert stream is not None
    line = stream.readline()
    if not line:
        raise RuntimeError("peer exited without printing its result")
    return dict(json.loads(line))


def run_peer(python: Path, script: str, *args: str, timeout: float = 300,
             soft_nofile: int | None = None) -> dict[str, Any]:
    """A peer script's JSON line; with `soft_nofile`, it starts with that soft open-files limit
    (`ulimit -Sn`), as from an admin's shell."""
    def limit() -> None:
        if soft_nofile is not None:
            import resource
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft_nofile, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    result = subprocess.run([str(python), str(PEERS / script), *args], capture_output=True, text=True,
                            timeout=timeout, check=False, cwd=PEERS, preexec_fn=limit)
    if result.returncode != 0:
        raise RuntimeError(f"{script} failed ({result.returncode}): {result.stderr[-2000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def rotated(items: list[T], k: int) -> list[T]:
    """`items` started at position k (cyclically): who goes first changes from round to round."""
    k %= len(items)
    return items[k:] + items[:k]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


# -- setup ----------------------------------------------------------------------------------------


def ensure_setup() -> None:
    ready = all(p.exists() for p in (CURRENT_PY, CLASSIC_PY, SSHD, SFTP_SERVER, MAIN_PY))
    stamps = all((VENVS / name / ".stamp").exists() for name in ("current", "classic"))
    # A venv made before the Nornir peer lacks it: setup.sh's stamp then differs and it remakes the venv.
    stamps = stamps and "nornir" in (VENVS / "current" / ".stamp").read_text()
    if not (ready and stamps):
        print("bench: running bench/setup.sh", file=sys.stderr, flush=True)
        subprocess.run(["bash", str(BENCH / "setup.sh")], check=True)


# -- 1. CLI round trip ----------------------------------------------------------------------------


RTT_ROUNDS = 3


def bench_rtt(results: Results, count: int) -> None:
    print(f"round trip: {count} x 'show version active' per peer", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="ops-bench-rtt-") as tmp, \
            server([str(MAIN_PY), str(PEERS / "lab.py"), LAB_PASSWORD], stdin=subprocess.PIPE,
                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=PEERS) as lab:
        where = read_json_line(lab.stdout)
        known_hosts = Path(tmp) / "known_hosts"
        known_hosts.write_text(where["known_hosts"] + "\n")
        common = ["--port", str(where["port"]), "--password", LAB_PASSWORD, "--count", str(count),
                  "--fingerprint", where["fingerprint"], "--known-hosts", str(known_hosts)]
        peers = [
            ("ops (asyncssh + VOSChannel)", MAIN_PY, "rtt_ops.py"),
            ("asyncssh read-until-prompt (floor)", MAIN_PY, "rtt_asyncssh.py"),
            ("asyncssh, echo before return (2 round trips: ops' way for commands that change things)", MAIN_PY,
             "rtt_asyncssh_echo.py"),
            ("scrapli {v} (FFI, Cli)", CURRENT_PY, "rtt_scrapli_ffi.py"),
            ("scrapli {v} (classic, GenericDriver, system)", CLASSIC_PY, "rtt_scrapli_classic.py"),
            ("netmiko {v} (generic)", CURRENT_PY, "rtt_netmiko.py"),
        ]
        samples: dict[str, list[float]] = {script: [] for _, _, script in peers}
        names: dict[str, str] = {}
        # Rounds in a rotating order: whichever peer runs first (on a lab that has just started,
        # or while this VM is slow) is not always the same one.
        for round_ in range(RTT_ROUNDS):
            for label, python, script in rotated(peers, round_):
                out = run_peer(python, script, *common)
                samples[script] += out["samples"]
                names[script] = label.format(v=out.get("version", ""))
    medians = {script: statistics.median(values) for script, values in samples.items()}
    ops = medians["rtt_ops.py"]
    floor = medians["rtt_asyncssh.py"]
    scrapli = min(medians["rtt_scrapli_ffi.py"], medians["rtt_scrapli_classic.py"])
    bench = "CLI round trip"
    results.add(bench, names["rtt_ops.py"], ms(ops), f"{ops / floor:.2f}x floor",
                verdict(ops <= 2 * floor, f"<= 2x floor ({ms(2 * floor)})") + "; "
                + verdict(ops <= scrapli, f"<= fastest scrapli ({ms(scrapli)})"))
    results.add(bench, names["rtt_asyncssh.py"], ms(floor), "1.00x floor")
    echo = medians["rtt_asyncssh_echo.py"]
    results.add(bench, names["rtt_asyncssh_echo.py"], ms(echo),
                f"{echo / floor:.2f}x floor; ops is {ops / echo:.2f}x this")
    for script in ("rtt_scrapli_ffi.py", "rtt_scrapli_classic.py", "rtt_netmiko.py"):
        results.add(bench, names[script], ms(medians[script]), f"{medians[script] / ops:.2f}x ops")
    results.notes.append(f"Round trip: median of {RTT_ROUNDS} runs x {count} commands per peer, the peers in a "
                         "rotating order, one lab appliance process for all.")


# -- 2. SFTP receive throughput -------------------------------------------------------------------


SSH_COMMON = ["-F", "/dev/null", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
              "-o", "GlobalKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-c", CIPHER]


def sftp_command(port: int, user: str, source: Path, name: str, tmp: Path, *, password: str = "",
                 identity: Path | None = None) -> tuple[list[str], dict[str, str]]:
    """OpenSSH `sftp` putting `source` as `name` (its own batch file, so several may run at once)."""
    batch = tmp / f"batch-{name}"
    batch.write_text(f"put {source} {name}\n")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp)}
    if password:
        askpass = tmp / "askpass.sh"
        askpass.write_text('#!/bin/sh\nprintf "%s\\n" "$BENCH_PASSWORD"\n')
        askpass.chmod(0o700)
        env.update(SSH_ASKPASS=str(askpass), SSH_ASKPASS_REQUIRE="force", DISPLAY=":0", BENCH_PASSWORD=password)
        auth = ["-o", "BatchMode=no", "-o", "PreferredAuthentications=password", "-o", "PubkeyAuthentication=no"]
    else:
        assert identity is not None
        auth = ["-o", "PreferredAuthentications=publickey", "-i", str(identity), "-o", "IdentitiesOnly=yes"]
    return ["sftp", *auth, "-b", str(batch), "-P", str(port), *SSH_COMMON, f"{user}@127.0.0.1"], env


def sftp_puts(commands: list[tuple[list[str], dict[str, str]]]) -> float:
    """Wall time of the `sftp` commands run at once, until the last ends (connect and login included)."""
    start = time.perf_counter()
    procs = [subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for cmd, env in commands]
    errors = []
    for proc in procs:
        _out, err = proc.communicate(timeout=900)
        if proc.returncode != 0:
            errors.append(err[-1000:])
    elapsed = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"sftp put failed: {errors[0]}")
    return elapsed


def sftp_put(port: int, user: str, source: Path, name: str, tmp: Path, *, password: str = "",
             identity: Path | None = None) -> float:
    """Wall time of OpenSSH `sftp` putting `source` as `name` (connect and login included)."""
    return sftp_puts([sftp_command(port, user, source, name, tmp, password=password, identity=identity)])


def children_gone(pid: int, timeout: float = 10.0) -> None:
    """Wait until `pid` has no child processes: a child's CPU time counts in its parent's only once
    reaped (sshd reaps a connection's process a moment after the client has gone)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(Path(f"/proc/{pid}/task/{tid}/children").read_text().split()
                   for tid in os.listdir(f"/proc/{pid}/task")):
            return
        time.sleep(0.02)


def process_cpu(pid: int) -> float:
    """CPU seconds of a process and of its children it has reaped (sshd: every connection's sshd
    and sftp-server), once none is left."""
    children_gone(pid)
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def make_payload(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    chunk = os.urandom(4 * MIB)
    with path.open("wb") as fh:
        for i in range(size // len(chunk)):
            block = chunk[:8] + i.to_bytes(8, "big") + chunk[16:]  # no two blocks alike
            fh.write(block)
            digest.update(block)
    return digest.hexdigest()


def sshd_config(tmp: Path, port: int, root: Path) -> tuple[Path, Path]:
    """A throw-away sshd on a loopback port serving sftp-server to root with a generated key."""
    host_key, user_key = tmp / "ssh_host_ed25519_key", tmp / "id_ed25519"
    for key in (host_key, user_key):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    authorized = tmp / "authorized_keys"
    shutil.copy(f"{user_key}.pub", authorized)
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
    config = tmp / "sshd_config"
    config.write_text("\n".join([
        "ListenAddress 127.0.0.1", f"Port {port}", f"HostKey {host_key}", "PidFile none",
        "PermitRootLogin yes", "PubkeyAuthentication yes", f"AuthorizedKeysFile {authorized}",
        "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no", "StrictModes no",
        "ChrootDirectory none", f"Ciphers {CIPHER}", f"Subsystem sftp {SFTP_SERVER} -d {root}",
        "AllowTcpForwarding no", "X11Forwarding no", "PrintMotd no", "UseDNS no", "LogLevel ERROR", "",
    ]))
    return config, user_key


def bench_sftp(results: Results, size: int, reps: int) -> None:
    print(f"SFTP receive: {size // MIB} MiB x {reps} per server, cipher {CIPHER}", file=sys.stderr, flush=True)
    base = Path(tempfile.mkdtemp(prefix="ops-bench-sftp-"))
    try:
        source = base / "payload.bin"
        want = make_payload(source, size)
        rates: dict[str, list[float]] = {"ops": [], "openssh": [], "sftpserver": []}
        with contextlib.ExitStack() as stack:
            # ops' receiver: each file's sha256 is computed as its bytes arrive; checked below.
            recv = stack.enter_context(server([str(MAIN_PY), str(PEERS / "recv_ops.py"), str(base / "ops")],
                                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=PEERS))
            account = read_json_line(recv.stdout)

            # OpenSSH's sftp-server behind a throw-away sshd.
            ssh_root = base / "openssh"
            ssh_root.mkdir()
            ssh_port = free_port()
            config, identity = sshd_config(base, ssh_port, ssh_root)
            sshd = stack.enter_context(server([str(SSHD), "-f", str(config), "-D", "-e"],
                                              stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            wait_port(ssh_port, sshd)

            # The `sftpserver` package (paramiko): serves its working directory, accepts any key.
            pkg_root = base / "sftpserver"
            pkg_root.mkdir()
            rsa_key = base / "sftpserver_rsa"
            subprocess.run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-m", "PEM", "-N", "", "-f",
                            str(rsa_key)], check=True)
            pkg_port = free_port()
            pkg = stack.enter_context(server(
                [str(VENVS / "current" / "bin" / "sftpserver"), "--host", "127.0.0.1", "-p", str(pkg_port),
                 "-k", str(rsa_key), "-l", "WARNING"], cwd=pkg_root, stdin=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL))
            stack.callback(lambda: os.killpg(pkg.pid, signal.SIGTERM))  # it serves forever
            wait_port(pkg_port, pkg)

            # One untimed put first (its pages of memory are then warm for every server), then the
            # servers interleaved and in a rotating order, so that page-cache writeback, fresh memory
            # or a noisy neighbour hits every server alike.
            def put_ops(name: str) -> float:
                return sftp_put(account["port"], account["username"], source, name, base,
                                password=account["password"])

            def put_openssh(name: str) -> float:
                return sftp_put(ssh_port, "root", source, name, base, identity=identity)

            def put_pkg(name: str) -> float:
                return sftp_put(pkg_port, "root", source, name, base, identity=identity)
            peers = [("ops", put_ops, Path(account["directory"])), ("openssh", put_openssh, ssh_root),
                     ("sftpserver", put_pkg, pkg_root)]
            put_openssh("warm.bin")
            (ssh_root / "warm.bin").unlink()
            for i in range(reps):
                name = f"f{i}.bin"
                for key, put, root in rotated(peers, i):
                    rates[key].append(size / put(name))
                    (root / name).unlink()
            assert recv.stdin is not None
            recv.stdin.close()
            manifest = read_json_line(recv.stdout)["manifest"]
        if len(manifest) != reps or any(e["sha256"] != want or e["size"] != size for e in manifest):
            raise RuntimeError(f"ops receiver manifest does not match the payload: {manifest}")
    finally:
        shutil.rmtree(base, ignore_errors=True)

    med = {k: statistics.median(v) for k, v in rates.items()}
    bench = f"SFTP receive, {size // MIB} MiB, `sftp` client, {CIPHER}"

    def mbs(rate: float) -> str:
        return f"{rate / MIB:.0f} MiB/s"
    results.add(bench, "ops receiver (sha256 as bytes arrive)", mbs(med["ops"]),
                f"{med['ops'] / med['openssh']:.2f}x OpenSSH",
                verdict(med["ops"] >= 0.9 * med["openssh"], ">= 0.9x OpenSSH") + "; "
                + verdict(med["ops"] >= 5 * med["sftpserver"], f">= 5x sftpserver "
                          f"({med['ops'] / med['sftpserver']:.1f}x)"))
    results.add(bench, "OpenSSH sftp-server (sshd, Debian)", mbs(med["openssh"]),
                f"{med['openssh'] / med['ops']:.2f}x ops")
    results.add(bench, "`sftpserver` 0.3 (paramiko)", mbs(med["sftpserver"]),
                f"{med['sftpserver'] / med['ops']:.2f}x ops")
    results.notes.append(f"SFTP: median of {reps} puts of a {size // MIB} MiB file per server; the time is the "
                         f"`sftp -b` process's wall time (connect and login included), cipher {CIPHER}.")


STREAMS = (1, 4)  # uploads at once (issue 20)


def bench_streams(results: Results, size: int, reps: int) -> None:
    """ops' receiver against OpenSSH's sftp-server with 1 and 4 `sftp` uploads at once, and the CPU
    time each server spent (OpenSSH: sshd with every connection's sshd and sftp-server)."""
    print(f"SFTP receive: {STREAMS} uploads at once, {size // MIB} MiB each, x {reps} per server",
          file=sys.stderr, flush=True)
    base = Path(tempfile.mkdtemp(prefix="ops-bench-streams-"))
    rates: dict[tuple[str, int], list[float]] = {}
    cpu_gib: dict[tuple[str, int], list[float]] = {}
    try:
        source = base / "payload.bin"
        want = make_payload(source, size)
        with contextlib.ExitStack() as stack:
            recv = stack.enter_context(server([str(MAIN_PY), str(PEERS / "recv_ops.py"), str(base / "ops")],
                                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=PEERS))
            account = read_json_line(recv.stdout)
            ssh_root = base / "openssh"
            ssh_root.mkdir()
            ssh_port = free_port()
            config, identity = sshd_config(base, ssh_port, ssh_root)
            sshd = stack.enter_context(server([str(SSHD), "-f", str(config), "-D", "-e"],
                                              stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            wait_port(ssh_port, sshd)

            def ops_cmd(name: str) -> tuple[list[str], dict[str, str]]:
                return sftp_command(account["port"], account["username"], source, name, base,
                                    password=account["password"])

            def openssh_cmd(name: str) -> tuple[list[str], dict[str, str]]:
                return sftp_command(ssh_port, "root", source, name, base, identity=identity)
            peers = [("ops", ops_cmd, recv.pid, Path(account["directory"])),
                     ("openssh", openssh_cmd, sshd.pid, ssh_root)]
            sftp_put(ssh_port, "root", source, "warm.bin", base, identity=identity)
            (ssh_root / "warm.bin").unlink()
            for streams in STREAMS:
                for i in range(reps):
                    for key, command, pid, root in rotated(peers, i):
                        names = [f"s{streams}-{i}-{k}.bin" for k in range(streams)]
                        before = process_cpu(pid)
                        wall = sftp_puts([command(name) for name in names])
                        cpu = process_cpu(pid) - before
                        rates.setdefault((key, streams), []).append(streams * size / wall)
                        cpu_gib.setdefault((key, streams), []).append(cpu / (streams * size / (1024 * MIB)))
                        for name in names:
                            (root / name).unlink()
            assert recv.stdin is not None
            recv.stdin.close()
            manifest = read_json_line(recv.stdout)["manifest"]
        if len(manifest) != reps * sum(STREAMS) or any(e["sha256"] != want or e["size"] != size for e in manifest):
            raise RuntimeError(f"ops receiver manifest does not match the payload: {manifest}")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    for streams in STREAMS:
        bench = f"SFTP receive, {streams} upload{'s' if streams > 1 else ''} at once, {size // MIB} MiB each"
        ops, openssh = (statistics.median(rates[(k, streams)]) for k in ("ops", "openssh"))
        ops_cpu, ssh_cpu = (statistics.median(cpu_gib[(k, streams)]) for k in ("ops", "openssh"))
        results.add(bench, "ops receiver (sha256 as bytes arrive)",
                    f"{ops / MIB:.0f} MiB/s, server CPU {ops_cpu:.1f} s/GiB", f"{ops / openssh:.2f}x OpenSSH",
                    verdict(ops >= 0.9 * openssh, ">= 0.9x OpenSSH"))
        results.add(bench, "OpenSSH sftp-server (sshd, Debian)",
                    f"{openssh / MIB:.0f} MiB/s, server CPU {ssh_cpu:.1f} s/GiB",
                    f"{openssh / ops:.2f}x ops; CPU per GiB {ssh_cpu / ops_cpu:.2f}x ops'")
    results.notes.append(
        f"SFTP uploads at once: median of {reps} rounds per server and count, the servers in a rotating order; "
        f"each upload an OpenSSH `sftp -b` put of {size // MIB} MiB ({CIPHER}); MiB/s counts all bytes over the "
        "wall time until the last `sftp` ended (connect and login included); server CPU per GiB: user+system time "
        "of the receiver's process, or of sshd with every connection's sshd and sftp-server (reaped children), "
        "per GiB received.")


# -- 3. fan-out -----------------------------------------------------------------------------------


LAB_NICE = 10  # the lab workers' niceness: they take the CPU the runner leaves (see bench/README.md)
FANOUT_REPS = 3  # runs per fan-out row; the row shows their median wall and CPU time, peak RSS at most


def fanout_row(results: Results, n: int, forks: int, *, pace: float, one: float | None,
               output_in: str | None = None, lab_nice: int = LAB_NICE) -> float:
    args = ["--hosts", str(n), "--forks", str(forks), "--pace", str(pace), "--lab-nice", str(lab_nice)]
    if output_in:
        args += ["--output-in", output_in]
    runs = []
    for _ in range(FANOUT_REPS):
        out = run_peer(MAIN_PY, "fanout.py", *args, timeout=900)
        if not out["ok"]:
            raise RuntimeError(f"fan-out run failed: {out}")
        runs.append(out)
    wall = statistics.median(r["wall"] for r in runs)
    cpu = statistics.median(r["cpu_runner_s"] for r in runs)
    rss = max(r["peak_rss_kib"] for r in runs) / 1024
    bench = "Fan-out log pull " + (f"(labs at an appliance's pace: prompt after {pace:g} s)" if pace
                                   else "(labs at CPU speed)")
    label = f"{n} host{'s' if n > 1 else ''}, forks={forks}" + (" (sequential loop)" if forks == 1 < n else "")
    if not output_in:
        label += ", run directory on disk"
    if lab_nice != LAB_NICE:
        label += ", labs at the runner's priority"
    ratio = target = ""
    if one is not None:
        ratio = f"{wall / one:.2f}x 1 host"
        if n >= 200 and forks == n:
            target = (verdict(wall <= 2 * one, f"<= 2x 1 host ({2 * one:.2f} s)") + "; "
                      + verdict(rss <= 300, "peak RSS <= 300 MB"))
    results.add(bench, label, f"{wall:.2f} s, {rss:.0f} MB peak RSS, runner CPU {cpu:.1f} s", ratio, target)
    return float(wall)


def file_create_cost(directory: str | None) -> float:
    """Seconds of one O_CREAT|O_EXCL open in a fresh directory under `directory` (median of 300)."""
    with tempfile.TemporaryDirectory(prefix="ops-bench-create-", dir=directory) as tmp:
        samples = []
        for i in range(300):
            start = time.perf_counter()
            os.close(os.open(f"{tmp}/f{i}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
            samples.append(time.perf_counter() - start)
    return statistics.median(samples)


PACES = (2.0, 5.0)  # seconds to the prompt: a quick appliance, a typical one


def bench_fanout(results: Results, sizes: list[int]) -> None:
    print(f"fan-out: log pull from {sizes} lab appliances", file=sys.stderr, flush=True)
    big = max(sizes)
    # Run directories on tmpfs where there is one: creating a file on this kind of VM's disk costs
    # a varying fraction of a millisecond of kernel time (measured below), which is the disk's, not
    # the fan-out's; one row shows the run on disk.
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    one = fanout_row(results, 1, 1, pace=0, one=None, output_in=shm)
    for n in sizes:
        if n > 1:
            fanout_row(results, n, n, pace=0, one=one, output_in=shm)
            fanout_row(results, n, 1, pace=0, one=one, output_in=shm)
    for pace in PACES:
        one = fanout_row(results, 1, 1, pace=pace, one=None, output_in=shm)
        fanout_row(results, big, big, pace=pace, one=one, output_in=shm)
        fanout_row(results, big, big, pace=pace, one=one, output_in=shm, lab_nice=0)
    if shm:
        fanout_row(results, big, big, pace=PACES[-1], one=one, output_in=None)
    disk, memory = file_create_cost(None), file_create_cost(shm) if shm else float("nan")
    results.notes.append(
        f"Fan-out: median of {FANOUT_REPS} runs a row (peak RSS: the highest); the shipped playbook "
        "(`playbooks/pull-desktop-logs.yaml`: 20 files a host) through `ops.runner.run_playbook`, forks=N against "
        "forks=1; the labs run in 2 worker processes sharing one log "
        f"tree and the 2 cores with the runner, at niceness {LAB_NICE} (they stand in for machines of their own, "
        "so they take the CPU the runner leaves; rows marked \"labs at the runner's priority\" run them at 0); "
        "RSS is the peak of the runner's process alone (one run per "
        "process), runner CPU its user+system time (startup included). At an appliance's pace each lab shows "
        "its prompt after the given delay (the reference: \"the banner can take several seconds\") and takes "
        "20 ms per file pushed; a sequential loop over 200 at that pace would take minutes, so it is not run. "
        f"Run directories are on tmpfs ({shm}) except in the row marked \"on disk\": creating a file cost "
        f"{disk * 1e6:.0f} us (median) in the temp directory on this machine's disk and {memory * 1e6:.0f} us on "
        "tmpfs, and the receiver creates one per file received.")


# -- 3b. the admins' way: Nornir + netmiko -----------------------------------------------------


def bench_nornir(results: Results, hosts: int, reps: int, paces: tuple[float, ...]) -> None:
    """ops and Nornir+netmiko (OpenSSH's sftp-server receiving) pulling the same logs from the same
    kind of lab farm, in alternating order."""
    print(f"the admins' way: {hosts}-host pull, ops against Nornir+netmiko, paces {paces}", file=sys.stderr,
          flush=True)
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    common = ["--hosts", str(hosts), "--lab-nice", str(LAB_NICE)] + (["--output-in", shm] if shm else [])
    versions: dict[str, str] = {}
    for pace in paces:
        runs: dict[str, list[dict[str, Any]]] = {"ops": [], "nornir": []}
        peers = [("ops", MAIN_PY, "fanout.py", ["--forks", str(hosts)]),
                 ("nornir", CURRENT_PY, "pull_nornir.py", ["--workers", str(hosts)])]
        for i in range(reps):
            for key, python, script, extra in rotated(peers, i):
                out = run_peer(python, script, *common, *extra, "--pace", str(pace), timeout=900)
                if not out["ok"]:
                    raise RuntimeError(f"{script} failed: {out}")
                runs[key].append(out)
                versions.update(out.get("versions", {}))
        wall = {k: statistics.median(r["wall"] for r in v) for k, v in runs.items()}
        cpu = {k: statistics.median(r["cpu_runner_s"] for r in v) for k, v in runs.items()}
        rss = {k: max(r["peak_rss_kib"] for r in v) / 1024 for k, v in runs.items()}
        sshd = statistics.median(r["cpu_sshd_s"] for r in runs["nornir"])
        each = {k: ", ".join(f"{r['wall']:.2f}" for r in v) for k, v in runs.items()}
        bench = f"{hosts}-host log pull, ops and the admins' way (" + (
            f"labs at an appliance's pace: prompt after {pace:g} s)" if pace else "labs at CPU speed)")
        speedup = wall["nornir"] / wall["ops"]
        results.add(bench, f"ops, forks={hosts} (receiver in-process)",
                    f"{wall['ops']:.2f} s (runs: {each['ops']}), {rss['ops']:.0f} MB peak RSS, runner CPU "
                    f"{cpu['ops']:.1f} s (receiver included)", f"Nornir+netmiko takes {speedup:.2f}x ops' time",
                    verdict(speedup >= 5, ">= 5x faster than Nornir+netmiko"))
        results.add(bench, f"Nornir {versions.get('nornir', '')} threaded (num_workers={hosts}) + nornir-netmiko "
                    f"{versions.get('nornir-netmiko', '')} / netmiko {versions.get('netmiko', '')} (generic), "
                    "OpenSSH sftp-server receiving",
                    f"{wall['nornir']:.2f} s (runs: {each['nornir']}), {rss['nornir']:.0f} MB peak RSS, client CPU "
                    f"{cpu['nornir']:.1f} s + sshd CPU {sshd:.1f} s", f"{speedup:.2f}x ops' time")
    results.notes.append(
        f"ops and the admins' way: median of {reps} runs each, alternating which goes first; the same lab farm "
        f"(`peers/labfarm.py`: {hosts} lab appliances in 2 worker processes at niceness {LAB_NICE}, one log tree, "
        "the same pace), started the same way by each peer's process; the same command "
        "(`file get activelog desktop/logs/* recurs reltime days 2`, 20 files a host). ops: the shipped playbook "
        "through `ops.runner.run_playbook` (its receiver in the runner's process, sha256 of every file, "
        "plus its `utils ntp status` clock check). Nornir: a task per host through nornir-netmiko's connection, "
        "`send_command` with `expect_string` per dialog answer (the password with `cmd_verify=False`, as it "
        "echoes stars), then `Transfer completed.` and the file count checked; the files go to OpenSSH's "
        "sftp-server behind a throw-away sshd (password login of an account that exists in sshd's own mount "
        "namespace only; MaxStartups 500, as sshd's default 10:30:100 drops logins arriving together). "
        "Wall: `run_playbook` / `nr.run` alone (labs and servers already up).")


# -- 3c. a fleet: 1,000 hosts on default limits ------------------------------------------------


def bench_fleet(results: Results, sizes: list[int], forks: int, reps: int) -> None:
    print(f"fleet: {sizes} lab hosts, forks={forks}, ulimit -Sn 1024", file=sys.stderr, flush=True)
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    per_host: dict[int, float] = {}
    for n in sizes:
        runs = []
        for _ in range(reps):
            out = run_peer(MAIN_PY, "fanout.py", "--hosts", str(n), "--forks", str(forks), "--pace", "0",
                           *(["--output-in", shm] if shm else []), timeout=1800, soft_nofile=1024)
            if not out["ok"]:
                raise RuntimeError(f"fleet run failed: {out}")
            runs.append(out)
        wall = statistics.median(r["wall"] for r in runs)
        cpu = statistics.median(r["cpu_runner_s"] for r in runs)
        rss = max(r["peak_rss_kib"] for r in runs) / 1024
        fds = max(r["peak_fds"] for r in runs)
        per_host[n] = cpu / n
        walls = ", ".join(f"{r['wall']:.1f}" for r in runs)
        limits = f"soft limit {runs[0]['nofile_soft_before']} raised by ops to {runs[0]['nofile_soft_after']}"
        target = ""
        if n == max(sizes) and len(sizes) > 1:
            base = min(sizes)
            target = (verdict(True, "completes") + "; " + verdict(rss <= 500, "peak RSS <= 500 MB") + "; "
                      + verdict(per_host[n] <= per_host[base], f"runner CPU per host <= {base} hosts' "
                                f"({per_host[base] * 1000:.0f} ms)"))
        results.add("Fleet: log pull from lab hosts at CPU speed, `ulimit -Sn 1024`",
                    f"{n} hosts, forks={runs[0]['forks']} ({limits})",
                    f"{wall:.1f} s (runs: {walls}), runner CPU "
                    f"{per_host[n] * 1000:.0f} ms a host ({cpu:.1f} s), {rss:.0f} MB peak RSS, {fds} file descriptors "
                    "at most", "", target)
    results.notes.append(
        "Fleet: `peers/fanout.py` started with a soft open-files limit of 1024 (the hard one: "
        f"{__import__('resource').getrlimit(__import__('resource').RLIMIT_NOFILE)[1]}); it raises the soft limit "
        "and fits forks as `ops run` does (`ops.rlimits`). The labs run in the 2 worker processes of the fan-out "
        "rows (niceness 10), which raise their own soft limit: they stand in for 1,000 machines, each with its own "
        "limit. File descriptors: the most the runner's process held (/proc/self/fd, sampled every 20 ms). "
        f"Median of {reps} run(s) a row.")


# -- 4. cold start --------------------------------------------------------------------------------


def bench_cold(results: Results, count: int) -> None:
    print(f"cold start: `ops --help` x {count}", file=sys.stderr, flush=True)
    ops = REPO / ".venv" / "bin" / "ops"

    def median_of(cmd: list[str]) -> float:
        samples = []
        subprocess.run(cmd, capture_output=True, check=True)  # warm the page cache, not the interpreter
        for _ in range(count):
            start = time.perf_counter()
            subprocess.run(cmd, capture_output=True, check=True)
            samples.append(time.perf_counter() - start)
        return statistics.median(samples)
    ops_t = median_of([str(ops), "--help"])
    floor = median_of([str(MAIN_PY), "-c", "pass"])
    results.add("Cold start", "`ops --help`", ms(ops_t), f"{ops_t / floor:.1f}x bare python",
                verdict(ops_t <= 0.25, "<= 250 ms"))
    results.add("Cold start", "`python -c pass` (floor)", ms(floor), "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="SFTP with a 1 GiB file (default 256 MiB)")
    parser.add_argument("--only", default="rtt,sftp,streams,fanout,nornir,fleet,cold", help="comma-separated subset")
    parser.add_argument("--count", type=int, default=200, help="round trips per peer")
    parser.add_argument("--reps", type=int, default=3,
                        help="SFTP puts per server; rounds of uploads at once; runs per peer of the admins' way")
    parser.add_argument("--hosts", default="1,10,50,200", help="fan-out sizes")
    parser.add_argument("--stream-mib", type=int, default=128, help="MiB per upload in the uploads-at-once rows")
    parser.add_argument("--nornir-paces", default="0", help="lab paces of the ops / Nornir+netmiko rows")
    parser.add_argument("--fleet", default="200,1000", help="host counts of the fleet rows (forks=200)")
    parser.add_argument("--fleet-reps", type=int, default=1, help="runs per fleet row")
    parser.add_argument("--write", type=Path, help="also write the table to this file")
    args = parser.parse_args()
    only = set(args.only.split(","))
    ensure_setup()
    results = Results()
    started = time.monotonic()
    if "rtt" in only:
        bench_rtt(results, args.count)
    if "sftp" in only:
        bench_sftp(results, (1024 if args.full else 256) * MIB, args.reps)
    if "fanout" in only:
        bench_fanout(results, [int(n) for n in args.hosts.split(",")])
    if "streams" in only:
        bench_streams(results, args.stream_mib * MIB, args.reps)
    if "nornir" in only:
        bench_nornir(results, 50, args.reps, tuple(float(p) for p in args.nornir_paces.split(",")))
    if "fleet" in only:
        bench_fleet(results, [int(n) for n in args.fleet.split(",")], 200, args.fleet_reps)
    if "cold" in only:
        bench_cold(results, 20)
    results.notes.append(f"Measured in one run of `python bench/run.py{' --full' if args.full else ''}` "
                         f"({time.monotonic() - started:.0f} s) on {os.cpu_count()} cores, "
                         f"Python {sys.version.split()[0]}.")
    table = results.markdown()
    print(table)
    if args.write:
        args.write.write_text(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
