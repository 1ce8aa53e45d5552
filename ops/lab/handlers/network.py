"""`show network status [detail] [listen] [process] [all] [nodns] [search stext]`.

netstat-style rows over a deterministic population (from `config.seed`) of agents on the
Finesse desktop (`config.desktop_clients` distinct clients on 8445) and on XMPP over BOSH
(`config.xmpp_clients` on 7443), plus the node's own background connections. Tomcat and
Openfire listen on IPv6 sockets, so most clients appear IPv4-mapped (`::ffff:10.1.20.51`);
some agents have native IPv6 addresses long enough to push the columns out of line, as
netstat does. Without `nodns`, addresses with a reverse DNS name and well-known ports are
shown by name (and users by name with `detail`). `search X` keeps only the rows containing X,
without the header lines; nothing matching prints nothing.

Every desktop or XMPP client has at least one ESTABLISHED connection to its port; some also
have TIME_WAIT (desktop) or CLOSE_WAIT (XMPP) ones, which have no process (`-`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ops.lab.commands import CommandContext, CommandError, command

USAGE = "show network status [detail] [listen] [process] [all] [nodns] [search stext]"
OPTIONS = ("detail", "listen", "process", "all", "nodns")
COLUMNS = "Proto Recv-Q Send-Q Local Address               Foreign Address             State      "
PORT_NAMES = {22: "ssh", 123: "ntp", 161: "snmp", 443: "https", 5222: "xmpp-client", 8443: "pcsync-https"}
USERS = {"root": 0, "tomcat": 502, "openfire": 503, "informix": 501, "ntp": 38}

TOMCAT = ("tomcat", 4721, "java")
OPENFIRE = ("openfire", 3377, "java")


@dataclass(frozen=True)
class Socket:
    proto: str
    local: tuple[str, int | None]
    remote: tuple[str, int | None]
    state: str
    owner: tuple[str, int, str] | None  # user, pid, program; None: no process (TIME_WAIT ...)
    inode: int
    recv_q: int = 0
    send_q: int = 0


def _node_ip(seed: int) -> str:
    return f"10.1.1.{10 + seed % 200}"


def _agent(i: int) -> tuple[str, str | None, bool]:
    """Agent i's address, its reverse DNS name (or None) and whether it is native IPv6."""
    if i % 5 == 4:
        return f"2001:db8:20:0:5054:ff:fe{i // 256:02x}:{i % 256:x}{i % 7}", None, True
    name = f"agentpc{i:03d}.cc.example.com" if i % 3 else None
    return f"10.1.{20 + i // 200}.{50 + i % 200}", name, False


def population(seed: int, desktop_clients: int, xmpp_clients: int) -> tuple[list[Socket], dict[str, str]]:
    """Every socket of the node and the reverse DNS names of the addresses that have one."""
    rng = random.Random(seed)
    node = _node_ip(seed)
    mapped = f"::ffff:{node}"
    node6 = "2001:db8:1::" + node.rsplit(".", 1)[1]
    names = {node: "finesse", mapped: "finesse", node6: "finesse", "127.0.0.1": "localhost",
             "10.1.1.5": "cucm-pub.example.com", "10.1.20.5": "admin-ws.example.com"}
    inode = iter(range(18000 + rng.randrange(1000), 10**7, 7))
    socks: list[Socket] = [
        Socket("tcp", ("0.0.0.0", 22), ("0.0.0.0", None), "LISTEN", ("root", 2101, "sshd"), next(inode)),
        Socket("tcp", ("127.0.0.1", 1500), ("0.0.0.0", None), "LISTEN", ("informix", 1893, "oninit"), next(inode)),
        Socket("tcp", ("::", 8445), ("::", None), "LISTEN", TOMCAT, next(inode)),
        Socket("tcp", ("::", 8443), ("::", None), "LISTEN", TOMCAT, next(inode)),
        Socket("tcp", ("::", 7443), ("::", None), "LISTEN", OPENFIRE, next(inode)),
        Socket("tcp", ("::", 5222), ("::", None), "LISTEN", OPENFIRE, next(inode)),
        Socket("udp", ("0.0.0.0", 123), ("0.0.0.0", None), "", ("ntp", 1702, "ntpd"), next(inode)),
        Socket("udp", ("::", 161), ("::", None), "", ("root", 2230, "snmpd"), next(inode)),
        Socket("tcp", (node, 22), ("10.1.20.5", 50000 + rng.randrange(15000)), "ESTABLISHED",
               ("root", 30211, "sshd"), next(inode), send_q=36),
        Socket("tcp", (node, 40000 + rng.randrange(20000)), ("10.1.1.5", 2748), "ESTABLISHED", TOMCAT, next(inode)),
        Socket("tcp", ("127.0.0.1", 1500), ("127.0.0.1", 41022), "ESTABLISHED", ("informix", 1893, "oninit"),
               next(inode)),
        Socket("tcp", ("127.0.0.1", 41022), ("127.0.0.1", 1500), "ESTABLISHED", TOMCAT, next(inode)),
    ]
    for port, count, extra, owner in ((8445, desktop_clients, "TIME_WAIT", TOMCAT),
                                      (7443, xmpp_clients, "CLOSE_WAIT", OPENFIRE)):
        for i in range(count):
            address, name, native6 = _agent(i)
            if name:
                names[address] = names[f"::ffff:{address}"] = name
            local = node6 if native6 else mapped
            remote = address if native6 else f"::ffff:{address}"
            established = 1 + (rng.randrange(3) if port == 8445 else 0)
            for _ in range(established):
                recv_q = rng.choice((0, 0, 0, 0, 0, 0, 0, 0, 0, 1184))
                socks.append(Socket("tcp", (local, port), (remote, 49152 + rng.randrange(16000)), "ESTABLISHED",
                                    owner, next(inode), recv_q=recv_q))
            if rng.random() < 0.3:
                orphan = extra == "TIME_WAIT"
                socks.append(Socket("tcp", (local, port), (remote, 49152 + rng.randrange(16000)), extra,
                                    None if orphan else owner, 0 if orphan else next(inode)))
    return socks, names


def _address(end: tuple[str, int | None], names: dict[str, str], nodns: bool) -> str:
    host, port = end
    if not nodns:
        if host == "0.0.0.0":
            host = "*"
        else:
            host = names.get(host, host)
    port_text = "*" if port is None else (str(port) if nodns else PORT_NAMES.get(port, str(port)))
    return f"{host}:{port_text}"


def _row(sock: Socket, names: dict[str, str], opts: set[str]) -> str:
    nodns = "nodns" in opts
    row = (f"{sock.proto:<5} {sock.recv_q:>6} {sock.send_q:>6} {_address(sock.local, names, nodns):<27} "
           f"{_address(sock.remote, names, nodns):<27} {sock.state:<11}")
    if "detail" in opts:
        user = sock.owner[0] if sock.owner else "root"
        row += f" {str(USERS[user]) if nodns else user:<10} {sock.inode:<10}"
    if "process" in opts:
        row += " " + (f"{sock.owner[1]}/{sock.owner[2]}" if sock.owner else "-")
    return row


def parse_options(args: list[str]) -> tuple[set[str], str | None]:
    opts: set[str] = set()
    search: str | None = None
    i = 0
    while i < len(args):
        word = args[i].lower()
        if word == "search":
            if i + 1 >= len(args):
                raise CommandError("Missing search text", syntax=True)
            search = args[i + 1]
            i += 2
            continue
        if word not in OPTIONS:
            raise CommandError(f"Invalid option: {args[i]}", syntax=True)
        opts.add(word)
        i += 1
    return opts, search


def render(lab_seed: int, desktop_clients: int, xmpp_clients: int, args: list[str]) -> list[str]:
    """The lines `show network status <args>` prints."""
    opts, search = parse_options(args)
    socks, names = population(lab_seed, desktop_clients, xmpp_clients)
    listening = {"LISTEN", ""}
    if "all" in opts:
        title = "Active Internet connections (servers and established)"
    elif "listen" in opts:
        title = "Active Internet connections (only servers)"
        socks = [s for s in socks if s.state in listening]
    else:
        title = "Active Internet connections (w/o servers)"
        socks = [s for s in socks if s.state not in listening]
    header = COLUMNS + (" User       Inode     " if "detail" in opts else "")
    header += " PID/Program name" if "process" in opts else ""
    rows = [_row(s, names, opts) for s in socks]
    if search is not None:
        return [r for r in rows if search in r]
    return [title, header] + rows


@command("show network status", usage=USAGE)
async def show_network_status(ctx: CommandContext, args: list[str]) -> None:
    """Print the node's sockets, netstat style."""
    cfg = ctx.lab.config
    await ctx.term.page(render(cfg.seed, cfg.desktop_clients, cfg.xmpp_clients, args))
