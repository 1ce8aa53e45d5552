"""The admins' way without ops: Nornir (threaded runner) with netmiko answering the `file get
activelog` dialog on every host, OpenSSH's sftp-server receiving.

The same labs as ops' fan-out (`labfarm`: worker processes, one log tree, same pace and
niceness), the same command as `playbooks/pull-desktop-logs.yaml` sends, and the answers
`ops/actions/activelog.py` gives (y, server, port, user, password, an absolute download directory
per host, `yes` to the receiver's host key). Checked per host the way a careful script would:
`Transfer completed.`, and as many files on the server as the appliance announced. Prints the
wall time of `nr.run`, the CPU time of this process (Nornir's threads, netmiko, paramiko) and of
sshd with every connection's sshd and sftp-server, and this process's peak RSS.
"""

from __future__ import annotations

import argparse
import logging
import re
import resource
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import yaml
from _common import emit
from labfarm import PASSWORD, lab_farm, make_tree
from nornir import InitNornir
from nornir.core.task import Result, Task
from openssh_sftp import openssh_sftp

COMMAND = "file get activelog desktop/logs/* recurs reltime days 2"  # the playbook's, with days: 2
PROMPT = r"admin:"
FILES_RE = re.compile(r"Number of files affected: (\d+)")
SFTP_PASSWORD = "bench-Sftp-pw-5521"


def pull_logs(task: Task, server: dict[str, Any], root: str) -> Result:
    conn = task.host.get_connection("netmiko", task.nornir.config)
    directory = f"{root}/{task.host.name}"
    conn.send_command("set cli pagination off", expect_string=PROMPT)
    out = conn.send_command(COMMAND, expect_string=r"proceed \[y/n\]\?|No files matched", read_timeout=120)
    found = FILES_RE.search(out)
    if found is None:
        raise RuntimeError(f"{task.host.name}: nothing to pull: {out[-300:]!r}")
    # Answers are typed blind (the password echoes as stars): no waiting for their echo.
    out += conn.send_command("y", expect_string=r"SFTP server IP:", cmd_verify=False)
    out += conn.send_command(server["host"], expect_string=r"SFTP server port", cmd_verify=False)
    out += conn.send_command(str(server["port"]), expect_string=r"User ID:", cmd_verify=False)
    out += conn.send_command(server["username"], expect_string=r"[Pp]assword:", cmd_verify=False)
    out += conn.send_command(server["password"], expect_string=r"Download directory:", cmd_verify=False)
    # strip_prompt=False: the host key question is the last line, which netmiko would strip.
    last = conn.send_command(directory, expect_string=rf"\(yes/no\)\?|{PROMPT}", cmd_verify=False,
                             strip_prompt=False, read_timeout=600)
    if "(yes/no)" in last:
        last += conn.send_command("yes", expect_string=PROMPT, cmd_verify=False, read_timeout=600)
    out += last
    got = sum(1 for p in Path(directory).rglob("*") if p.is_file())
    if "Transfer completed." not in out or got != int(found.group(1)):
        raise RuntimeError(f"{task.host.name}: {got} of {found.group(1)} files: {out[-300:]!r}")
    return Result(host=task.host, result=got)


def write_inventory(where: Path, hosts: list[tuple[str, int, str]]) -> dict[str, Any]:
    inventory = {name: {"hostname": "127.0.0.1", "port": port, "groups": ["finesse"]} for name, port, _ in hosts}
    (where / "hosts.yaml").write_text(yaml.safe_dump(inventory))
    (where / "groups.yaml").write_text(yaml.safe_dump({"finesse": {}}))
    # netmiko has no VOS driver: `generic` with the prompt given per command, as admins do.
    (where / "defaults.yaml").write_text(yaml.safe_dump({"username": "admin", "password": PASSWORD,
                                                         "platform": "generic"}))
    return {"plugin": "SimpleInventory", "options": {
        "host_file": str(where / "hosts.yaml"), "group_file": str(where / "groups.yaml"),
        "defaults_file": str(where / "defaults.yaml")}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", type=int, required=True)
    parser.add_argument("--workers", type=int, required=True, help="Nornir's num_workers (threads)")
    parser.add_argument("--pace", type=float, default=0.0)
    parser.add_argument("--lab-nice", type=int, default=10)
    parser.add_argument("--output-in", type=Path, help="make the download directories under this directory")
    args = parser.parse_args()
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)

    with tempfile.TemporaryDirectory(prefix="ops-bench-nornir-") as tmp, \
            tempfile.TemporaryDirectory(prefix="ops-bench-nornir-out-", dir=args.output_in) as out_tmp, \
            openssh_sftp(SFTP_PASSWORD) as sftp:
        root = Path(tmp)
        with lab_farm(args.hosts, make_tree(root), pace=args.pace, nice=args.lab_nice) as hosts:
            nr = InitNornir(runner={"plugin": "threaded", "options": {"num_workers": args.workers}},
                            inventory=write_inventory(root, hosts), logging={"enabled": False})
            server = {"host": sftp.host, "port": sftp.port, "username": sftp.username, "password": sftp.password}
            sshd_before = sftp.cpu_seconds()
            start = time.perf_counter()
            result = nr.run(task=pull_logs, server=server, root=out_tmp)
            wall = time.perf_counter() - start
            nr.close_connections()
            sshd_cpu = sftp.cpu_seconds() - sshd_before
            sshd_total = sftp.cpu_seconds()
        failed = {h: str(r.exception or r[0].result)[-300:] for h, r in result.items() if r.failed}
        files = sum(1 for p in Path(out_tmp).rglob("*") if p.is_file())
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    emit(ok=not failed and len(result) == args.hosts, failed=dict(list(failed.items())[:3]), wall=wall,
         peak_rss_kib=me.ru_maxrss, files=files, cpu_runner_s=round(me.ru_utime + me.ru_stime, 2),
         cpu_sshd_s=round(sshd_cpu, 2),
         cpu_labs_s=round(children.ru_utime + children.ru_stime - sshd_total, 2),  # the lab workers' (sshd's apart)
         versions={p: version(p) for p in ("nornir", "nornir-netmiko", "netmiko")})


if __name__ == "__main__":
    main()
