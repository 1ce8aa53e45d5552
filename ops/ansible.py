"""Ansible inventories, read as they are: YAML (`all:`), INI, a directory, `ansible-inventory --list`.

An admin who runs Ansible already has an inventory of the appliances. This module turns one into
the toolkit's own inventory form (`hosts:`/`groups:`), which ops.inventory then checks as usual:

* YAML with `all:` (or any top-level group with `hosts:`/`children:`/`vars:`);
* INI: `[group]`, `[group:vars]`, `[group:children]`, host ranges (`fin[01:04]`, `node-[a:c]`),
  `host:port`, inline `key=value` (read as Python literals, as Ansible does; `:vars` values are
  strings);
* the JSON of `ansible-inventory -i SOURCE --list` (`_meta.hostvars`): dynamic inventories and
  vault-decrypted variables come with it;
* a directory: every inventory file in it, with `group_vars/` and `host_vars/` (files or
  directories of files); `group_vars/` and `host_vars/` beside an inventory file are read too.

Variables are merged in Ansible's order: inventory-file group vars (`all` first, then groups by
depth, then by name), `group_vars/all`, `group_vars/<group>` (same order), the host's own
inventory vars, `host_vars/<host>`. From the merged variables of each host:
`ansible_host` -> address, `ansible_port` -> port, `ansible_user` -> username, and `ops_<field>`
-> any other host field of the toolkit (`ops_password: env:FIN_PW`, `ops_host_key`, `ops_lab`,
`ops_timezone`, `ops_settle`, `ops_rest` ...). Every variable stays a variable too (templates see
`ansible_host`). A password is never clear text here either: `ansible_password` (or
`ansible_ssh_pass`) must be a secret reference (`cmd:ansible-vault view ...` reads a vault file).
"""

from __future__ import annotations

import ast
import json
import re
import shlex
import string
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ops.secrets import REFERENCE_FORMS, is_reference
from ops.yamlsource import Document, InputError, Loc, Problem, load

__all__ = ["expand_pattern", "is_ansible", "looks_like_ini", "read_ansible"]

OUR_KEYS = frozenset({"defaults", "receiver", "groups", "hosts"})
GROUP_KEYS = frozenset({"hosts", "children", "vars"})
# Host fields an Ansible variable sets: ansible_* as Ansible names them, ops_<field> for the rest.
ANSIBLE_FIELDS = {"ansible_host": "address", "ansible_ssh_host": "address", "ansible_port": "port",
                  "ansible_ssh_port": "port", "ansible_user": "username", "ansible_ssh_user": "username",
                  "ansible_password": "password", "ansible_ssh_pass": "password"}
OPS_FIELDS = ("address", "port", "username", "password", "host_key", "known_hosts", "connect_timeout", "retries",
              "settle", "timezone", "lab", "rest")
# Files in an inventory directory that are not inventories (Ansible's INVENTORY_IGNORE_EXTS, and ours).
IGNORED_SUFFIXES = (".retry", ".pyc", ".pyo", ".cfg", ".md", ".txt", ".orig", ".bak", ".swp", "~")
VARS_SUFFIXES = ("", ".yml", ".yaml", ".json")
SECTION_RE = re.compile(r"^\[([^\]:\s]+)(?::(\w+))?\]\s*$")
RANGE_RE = re.compile(r"\[([0-9a-zA-Z]+):([0-9a-zA-Z]+)(?::([0-9]+))?\]")
MAX_RANGE = 100_000  # hosts one pattern may expand to
VAULT_HEADER = "$ANSIBLE_VAULT"


class _Inventory:
    """Groups, hosts and variables as Ansible holds them, with where each host was first seen."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.hosts: dict[str, dict[str, Any]] = {}  # inventory-file host vars
        self.host_lines: dict[str, tuple[str, int | None]] = {}  # (file, line)
        self.groups: dict[str, dict[str, Any]] = {"all": {"hosts": [], "children": [], "vars": {}}}
        self.group_files: dict[str, dict[str, Any]] = {}  # group_vars/<group>
        self.host_files: dict[str, dict[str, Any]] = {}  # host_vars/<host>
        self.problems: list[Problem] = []

    def group(self, name: str) -> dict[str, Any]:
        return self.groups.setdefault(name, {"hosts": [], "children": [], "vars": {}})

    def add_host(self, group: str, name: str, variables: dict[str, Any], where: tuple[str, int | None]) -> None:
        self.hosts.setdefault(name, {}).update(variables)
        self.host_lines.setdefault(name, where)
        members = self.group(group)["hosts"]
        if name not in members:
            members.append(name)

    def problem(self, where: tuple[str, int | None], message: str, key: str = "") -> None:
        self.problems.append(Problem(where[0], where[1], key, message))


def is_ansible(data: Any) -> bool:
    """Whether parsed YAML/JSON is an Ansible inventory rather than the toolkit's own form."""
    if not isinstance(data, dict) or not data:
        return False
    if "_meta" in data:
        return True
    if set(data) <= OUR_KEYS:
        return False
    return all(isinstance(k, str) and (v is None or (isinstance(v, dict) and set(v) <= GROUP_KEYS))
               for k, v in data.items())


def read_ansible(path: Path, doc: Document | None = None) -> Document:
    """An Ansible inventory (a file already parsed as `doc`, an INI file, or a directory) in the
    toolkit's own form, as a Document whose lines point back into the Ansible files."""
    inv = _Inventory(path)
    if path.is_dir():
        sources = [p for p in sorted(path.iterdir()) if p.is_file() and not p.name.startswith(".")
                   and not p.name.endswith(IGNORED_SUFFIXES)]
        if not sources:
            raise InputError([Problem(str(path), None, "", "inventory directory holds no inventory file")])
        for source in sources:
            _read_source(inv, source, None)
        _read_vars_dirs(inv, path)
    else:
        _read_source(inv, path, doc)
        _read_vars_dirs(inv, path.parent)
    if inv.problems:
        raise InputError(inv.problems)
    return _convert(inv)


def _read_source(inv: _Inventory, path: Path, doc: Document | None) -> None:
    if doc is None:
        yaml_error: InputError | None = None
        try:
            doc = load(path, "inventory")
        except InputError as exc:
            if not looks_like_ini(path):
                raise
            yaml_error = exc
            doc = None
        else:
            if not isinstance(doc.data, dict):
                doc = None
        if doc is None:
            try:
                _read_ini(inv, path)
            except InputError as ini_error:
                if yaml_error is not None and not path.suffix == ".ini":
                    raise InputError(yaml_error.problems + ini_error.problems) from None
                raise
            return
    if isinstance(doc.data, dict) and "_meta" in doc.data:
        _read_list_json(inv, doc)
    elif is_ansible(doc.data):
        _read_yaml(inv, doc)
    else:
        raise InputError([doc.problem((), "not an Ansible inventory (YAML with all:, INI, or ansible-inventory "
                                           "--list JSON)")])


def looks_like_ini(path: Path) -> bool:
    """Whether a file that is not YAML of the toolkit's form may be an INI inventory: `.ini`, or no
    YAML/JSON suffix and a `[group]` header (Ansible's `hosts` file has no suffix at all)."""
    if path.suffix == ".ini":
        return True
    if path.suffix in (".yaml", ".yml", ".json"):
        return False
    try:
        with path.open("r", encoding="utf-8", errors="replace") as handle:
            head = handle.read(65536)
    except OSError:
        return False
    if any(SECTION_RE.fullmatch(line.strip()) for line in head.splitlines()):
        return True
    # Only host lines (`fin-a ansible_host=10.1.1.10`): words, no YAML mapping keys.
    lines = [ln.strip() for ln in head.splitlines() if ln.strip() and not ln.strip().startswith(("#", ";"))]
    return bool(lines) and all(not re.match(r"^[^\s=]+:(\s|$)", ln) for ln in lines)


# -- YAML (all: ...) ---------------------------------------------------------------------------

def _read_yaml(inv: _Inventory, doc: Document) -> None:
    def visit(name: str, body: Any, loc: Loc, parent: str | None) -> None:
        if not isinstance(name, str) or not name:
            inv.problem((str(doc.path), doc.line(loc)), "a group name is a string", key=".".join(map(str, loc)))
            return
        group = inv.group(name)
        if parent is not None and name not in inv.group(parent)["children"] and name != "all":
            inv.group(parent)["children"].append(name)
        if body is None:
            return
        if not isinstance(body, dict) or not set(body) <= GROUP_KEYS:
            inv.problem((str(doc.path), doc.line(loc)), "a group holds hosts:, children: and vars: only",
                        key=".".join(map(str, loc)))
            return
        hosts_body, children_body = body.get("hosts") or {}, body.get("children") or {}
        for key, value in (("hosts", hosts_body), ("children", children_body)):
            if not isinstance(value, dict):
                inv.problem((str(doc.path), doc.line(loc + (key,))), f"{key} is a mapping of names (each with its "
                            f"own mapping or nothing), e.g. {key}: {{fin-a: {{ansible_host: 10.1.1.10}}}}",
                            key=".".join(map(str, loc + (key,))))
                return
        for host, variables in hosts_body.items():
            hloc = loc + ("hosts", host)
            if variables is not None and not isinstance(variables, dict):
                inv.problem((str(doc.path), doc.line(hloc)), "a host's value is a mapping of variables",
                            key=str(host))
                continue
            inv.add_host(name, str(host), dict(variables or {}), (str(doc.path), doc.line(hloc)))
        group["vars"].update(_mapping(inv, body.get("vars"), (str(doc.path), doc.line(loc + ("vars",)))))
        for child, child_body in children_body.items():
            visit(child, child_body, loc + ("children", child), name)

    for name, body in doc.data.items():
        visit(name, body, (name,), None if name == "all" else "all")


def _mapping(inv: _Inventory, value: Any, where: tuple[str, int | None]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        inv.problem(where, "vars is a mapping")
        return {}
    return dict(value)


# -- ansible-inventory --list JSON -------------------------------------------------------------

def _read_list_json(inv: _Inventory, doc: Document) -> None:
    data = doc.data
    meta = data.get("_meta") or {}
    hostvars = meta.get("hostvars") or {} if isinstance(meta, dict) else None
    where = (str(doc.path), None)
    if not isinstance(hostvars, dict):
        inv.problem((str(doc.path), doc.line(("_meta",))), "_meta.hostvars is a mapping of host names to variables")
        return
    for name, body in data.items():
        if name == "_meta":
            continue
        if not isinstance(body, dict):
            inv.problem((str(doc.path), doc.line((name,))), "a group is a mapping", key=name)
            continue
        group = inv.group(name)
        listed = {key: body.get(key) or [] for key in ("hosts", "children")}
        if not all(isinstance(v, list) for v in listed.values()):
            inv.problem((str(doc.path), doc.line((name,))), "in --list JSON, hosts and children are lists of names",
                        key=name)
            continue
        for host in listed["hosts"]:
            inv.add_host(name, str(host), {}, (str(doc.path), doc.line((name, "hosts"))))
        for child in listed["children"]:
            if child not in group["children"]:
                group["children"].append(child)
            inv.group(child)
        group["vars"].update(_mapping(inv, body.get("vars"), (str(doc.path), doc.line((name, "vars")))))
    for host, variables in hostvars.items():
        # --list has already merged every group's variables into each host's.
        inv.hosts.setdefault(str(host), {}).update(_mapping(inv, variables, where))
        inv.host_lines.setdefault(str(host), (str(doc.path), doc.line(("_meta", "hostvars", host))))


# -- INI ---------------------------------------------------------------------------------------

def _read_ini(inv: _Inventory, path: Path) -> None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError([Problem(str(path), None, "", f"cannot read inventory: {exc}")]) from None
    section, kind = "ungrouped", "hosts"
    problems: list[Problem] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        where = (str(path), number)
        header = SECTION_RE.fullmatch(line)
        if header:
            section, kind = header.group(1), header.group(2) or "hosts"
            if kind not in ("hosts", "vars", "children"):
                problems.append(Problem(str(path), number, "", f"[{section}:{kind}]: a section is [group], "
                                                              "[group:vars] or [group:children]"))
            inv.group(section)
            continue
        if line.startswith("["):
            problems.append(Problem(str(path), number, "", f"not a section header: {line!r} (e.g. [finesse])"))
            continue
        try:
            words = shlex.split(line, comments=True)
        except ValueError as exc:
            problems.append(Problem(str(path), number, "", f"cannot read the line: {exc}"))
            continue
        if not words:
            continue
        if kind == "vars":
            key, sep, value = line.partition("=")
            if not sep or not key.strip():
                problems.append(Problem(str(path), number, "", f"[{section}:vars] lines are key=value"))
                continue
            # As Ansible's INI plugin: a Python literal if it is one ('admin' loses its quotes), else text.
            inv.group(section)["vars"][key.strip()] = _literal(_strip_comment(value.strip()))
        elif kind == "children":
            child = words[0]
            inv.group(child)
            if child not in inv.group(section)["children"]:
                inv.group(section)["children"].append(child)
        else:
            variables: dict[str, Any] = {}
            bad = False
            for word in words[1:]:
                key, sep, value = word.partition("=")
                if not sep or not key:
                    problems.append(Problem(str(path), number, "", f"{word!r}: host variables are key=value"))
                    bad = True
                    break
                variables[key] = _literal(value)
            if bad:
                continue
            try:
                names = expand_pattern(words[0])
            except ValueError as exc:
                problems.append(Problem(str(path), number, "", str(exc)))
                continue
            for name, port in names:
                own = dict(variables)
                if port is not None:
                    own.setdefault("ansible_port", port)
                inv.add_host(section, name, own, where)
    if problems:
        raise InputError(problems)


def _strip_comment(value: str) -> str:
    # `key=value  # note`: Ansible drops a comment after whitespace in a :vars line.
    match = re.search(r"\s+[#;]", value)
    return value[:match.start()] if match else value


def _literal(value: str) -> Any:
    """An inline host variable, as Ansible reads it: a Python literal if it is one, else the string."""
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return value


def expand_pattern(pattern: str) -> list[tuple[str, int | None]]:
    """`fin[01:03].lab:2222` -> [("fin01.lab", 2222), ...]: Ansible's host ranges and host:port."""
    port: int | None = None
    outside = re.sub(r"\[[^\]]*\]", "", pattern)  # a range's ':' is not a port's
    match = re.search(r":(\d+)\Z", pattern)
    if match and outside.count(":") == 1:
        pattern, port = pattern[:match.start()], int(match.group(1))
    names = [pattern]
    while True:
        expanded: list[str] = []
        found = False
        for name in names:
            hit = RANGE_RE.search(name)
            if hit is None:
                expanded.append(name)
                continue
            found = True
            head, tail = name[:hit.start()], name[hit.end():]
            expanded.extend(head + item + tail for item in _range(hit.group(1), hit.group(2), hit.group(3), pattern))
            if len(expanded) > MAX_RANGE:
                raise ValueError(f"{pattern!r} expands to more than {MAX_RANGE} hosts")
        names = expanded
        if not found:
            break
    return [(name, port) for name in names]


def _range(start: str, end: str, step: str | None, pattern: str) -> Iterable[str]:
    stride = int(step) if step else 1
    if stride < 1:
        raise ValueError(f"{pattern!r}: a range's step is at least 1")
    if start.isdigit() and end.isdigit():
        width = len(start) if start.startswith("0") else 0
        first, last = int(start), int(end)
        if last < first:
            raise ValueError(f"{pattern!r}: range [{start}:{end}] runs backwards")
        if (last - first) // stride > MAX_RANGE:
            raise ValueError(f"{pattern!r} expands to more than {MAX_RANGE} hosts")
        return [str(n).zfill(width) for n in range(first, last + 1, stride)]
    letters = string.ascii_letters
    if len(start) == 1 and len(end) == 1 and start in letters and end in letters and start <= end:
        return [chr(c) for c in range(ord(start), ord(end) + 1, stride)]
    raise ValueError(f"{pattern!r}: a range is [first:last] of numbers or of single letters")


# -- group_vars/ and host_vars/ ----------------------------------------------------------------

def _read_vars_dirs(inv: _Inventory, base: Path) -> None:
    for kind, target in (("group_vars", inv.group_files), ("host_vars", inv.host_files)):
        folder = base / kind
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir()):
            if entry.name.startswith("."):
                continue
            name = entry.name
            for suffix in VARS_SUFFIXES[1:]:
                if entry.is_file() and name.endswith(suffix):
                    name = name[:-len(suffix)]
            files = sorted(p for p in entry.rglob("*") if p.is_file() and not p.name.startswith(".")) \
                if entry.is_dir() else [entry]
            merged = target.setdefault(name, {})
            for file in files:
                if file.suffix not in VARS_SUFFIXES:
                    continue
                merged.update(_vars_file(inv, file))


def _vars_file(inv: _Inventory, path: Path) -> dict[str, Any]:
    try:
        with path.open("r", encoding="utf-8", errors="replace") as handle:
            if handle.read(len(VAULT_HEADER)) == VAULT_HEADER:
                inv.problem((str(path), 1), "encrypted with ansible-vault: read the inventory through "
                                            "`ansible-inventory --list` (JSON), or reference the secret with "
                                            "cmd:ansible-vault view ...")
                return {}
    except OSError as exc:
        inv.problem((str(path), None), f"cannot read: {exc.strerror}")
        return {}
    try:
        doc = load(path, "variables file")
    except InputError as exc:
        inv.problems.extend(exc.problems)
        return {}
    if doc.data is None:
        return {}
    if not isinstance(doc.data, dict):
        inv.problem((str(path), 1), "a variables file is a mapping of names to values")
        return {}
    return dict(doc.data)


# -- to the toolkit's form ---------------------------------------------------------------------

def _depths(inv: _Inventory) -> dict[str, int]:
    """Each group's depth below `all` (Ansible's Group.depth): parents' variables come first."""
    parents: dict[str, list[str]] = {g: [] for g in inv.groups}
    for group, body in inv.groups.items():
        for child in body["children"]:
            parents.setdefault(child, []).append(group)
    depths: dict[str, int] = {}

    def depth(group: str, trail: frozenset[str]) -> int:
        if group == "all":
            return 0
        if group not in depths:
            above = [p for p in parents.get(group, []) if p not in trail]
            depths[group] = max((depth(p, trail | {group}) + 1 for p in above), default=1)
        return depths[group]

    for group in inv.groups:
        depth(group, frozenset())
    return depths


def _memberships(inv: _Inventory) -> dict[str, set[str]]:
    """Each host's groups, through children (a host of a child is a host of its parents)."""
    members: dict[str, set[str]] = {}
    for group in inv.groups:
        seen: set[str] = set()
        stack = [group]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            for host in inv.groups.get(current, {}).get("hosts", []):
                members.setdefault(host, set()).add(group)
            stack.extend(inv.groups.get(current, {}).get("children", []))
    return members


def _convert(inv: _Inventory) -> Document:
    depths = _depths(inv)
    members = _memberships(inv)
    hosts: dict[str, Any] = {}
    lines: dict[Loc, int] = {}
    problems: list[Problem] = []
    for name in inv.hosts:
        groups = sorted(members.get(name, set()) | {"all"}, key=lambda g: (depths.get(g, 0), g))
        merged: dict[str, Any] = {}
        for group in groups:
            merged.update(inv.groups.get(group, {}).get("vars", {}))
        for group in groups:
            merged.update(inv.group_files.get(group, {}))
        merged.update(inv.hosts[name])
        merged.update(inv.host_files.get(name, {}))
        fields: dict[str, Any] = {}
        where = inv.host_lines.get(name, (str(inv.path), None))
        for key, value in merged.items():
            field = ANSIBLE_FIELDS.get(key)
            if field is None and key.startswith("ops_") and key[4:] in OPS_FIELDS:
                field = key[4:]
            if field is None:
                continue
            if field == "password" and not (isinstance(value, str) and is_reference(value)):
                # Never the value itself in the message: it may be the password.
                problems.append(Problem(where[0], where[1], f"{name}.{key}",
                                        f"passwords are never written in clear text here: set ops_password "
                                        f"to {REFERENCE_FORMS} (cmd:ansible-vault view FILE reads a vault)"))
                continue
            if field == "port" and isinstance(value, str) and value.isdigit():
                value = int(value)
            if key.startswith("ops_"):
                fields[field] = value  # the toolkit's own name wins over Ansible's
            else:
                fields.setdefault(field, value)
        if "address" not in fields and "lab" not in fields:
            fields["address"] = name  # Ansible connects to the inventory name when ansible_host is not set
        fields["vars"] = merged
        hosts[name] = fields
        if where[1] is not None and where[0] == str(inv.path):
            lines[("hosts", name)] = where[1]
    if problems:
        raise InputError(problems)
    groups_out = {}
    for group, body in inv.groups.items():
        if group == "all":
            continue
        groups_out[group] = {"hosts": list(body["hosts"]), "children": [c for c in body["children"] if c != "all"]}
    data = {"hosts": hosts, "groups": groups_out}
    return Document(inv.path, json.loads(json.dumps(data, default=str)), lines)
