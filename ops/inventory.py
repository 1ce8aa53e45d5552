"""The inventory: hosts, groups, variables, and credentials as secret references.

```yaml
defaults: {username: admin, password: env:OPS_PASSWORD, host_key: strict}
receiver: {listen: 127.0.0.1, advertise: 127.0.0.1, port: 0, legacy_algorithms: false}
groups:
  finesse: {hosts: [finesse-a, finesse-b], vars: {days: 2}}
  voice: {children: [finesse]}
hosts:
  finesse-a: {address: 10.1.1.10}
  finesse-b: {address: 10.1.1.11, port: 22, lab: true}
```
A password is never written in clear text: it is `env:NAME`, `file:PATH` or `prompt`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from ops.secrets import REFERENCE_FORMS, Secret, reference_only
from ops.session.hostkey import ACCEPT_NEW, STRICT, HostKeyPolicy
from ops.textsafe import has_control
from ops.timezones import ZoneName
from ops.yamlsource import Document, InputError, Problem, load, problems_from, validate

FINGERPRINT_RE = re.compile(r"^SHA256:[A-Za-z0-9+/]{43}=?$")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
MAX_HOST_NAME = 128  # a host name is a directory name in every run, beside files named after it
# Names of the files a run directory holds beside its host directories.
RESERVED_NAMES = frozenset({"report.json", "report.html", "journal.jsonl", "BUNDLE.txt", "files", "manifest.json"})

# A password field: a secret reference (env:, file:, prompt), never the password itself.
SecretReference = Annotated[str, AfterValidator(reference_only)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# What an inventory's `lab:` mapping may hold is the lab's business (ops.lab.options): the
# entry point that runs lab hosts installs its validator here (ops.lab.provider.install); without
# one the mapping is kept as written and checked when a lab is started.
LabValidator = Callable[[dict[str, Any]], dict[str, Any]]
LAB_VALIDATOR: LabValidator | None = None


def set_lab_validator(validator: LabValidator | None) -> None:
    global LAB_VALIDATOR
    LAB_VALIDATOR = validator


class RestFields(_Strict):
    """How to reach a host's REST APIs (Finesse on `port`, Genesys Web Services on `gws_port`).

    Unset fields inherit from `defaults.rest`; the Finesse credentials default to the host's
    `username`/`password`. Passwords are secret references, never clear text.
    """

    address: str | None = None
    scheme: Literal["https", "http"] | None = None
    port: int | None = Field(None, ge=1, le=65535)
    username: str | None = None
    password: SecretReference | None = None
    gws_address: str | None = None
    gws_scheme: Literal["https", "http"] | None = None
    gws_port: int | None = Field(None, ge=1, le=65535)
    gws_username: str | None = None
    gws_password: SecretReference | None = None
    verify: bool | None = None
    ca_bundle: str | None = None
    timeout: float | None = Field(None, gt=0)
    peers: list[str] | None = Field(None, description=(
        "the other node(s) of this host's Finesse cluster, as address or address:port ([v6]:port): where "
        "REST steps go when this node does not answer or is not IN_SERVICE, and configuration when this node is "
        "the secondary (default: the node SystemInfo names, on this host's port)"))

    @field_validator("peers")
    @classmethod
    def _peer_addresses(cls, value: list[str] | None) -> list[str] | None:
        for peer in value or []:
            address, port = cls.split_peer(peer)
            if not address or any(c.isspace() or c in "/?#@" for c in address) or has_control(address):
                raise ValueError(f"peer {peer!r} is not an address or address:port")
            if port is not None and not 1 <= port <= 65535:
                raise ValueError(f"peer {peer!r}: the port must be 1-65535")
        return value

    @staticmethod
    def split_peer(peer: str) -> tuple[str, int | None]:
        """A `peers` entry as (address, port or None; -1 when not a number): `10.1.1.11`, `fin-b:8445`,
        `[fd00::2]:8445`, `fd00::2`."""
        text = peer.strip()
        port: str | None
        if text.startswith("["):
            address, _, rest = text[1:].partition("]")
            port = rest[1:] if rest.startswith(":") else None
        elif text.count(":") == 1:
            address, port = text.split(":")
        else:
            address, port = text, None
        if port is not None and not port.isdigit():
            return address, -1
        return address, int(port) if port is not None else None


class HostFields(_Strict):
    """What a host (or `defaults`) may say about how to reach it."""

    address: str | None = None
    port: int | None = Field(None, ge=1, le=65535)
    username: str | None = None
    password: SecretReference | None = None
    host_key: str | None = None
    known_hosts: str | None = None
    connect_timeout: float | None = Field(None, gt=0)
    retries: int | None = Field(None, ge=0, le=10)
    settle: float | None = Field(None, ge=0, le=10, description="seconds the line must stay quiet after the "
                                 "first prompt before anything is typed (default 0.5; the prompt may be redrawn)")
    timezone: ZoneName | None = Field(None, description="the appliance's time zone (IANA), for abstime conversion")
    lab: bool | dict[str, Any] | None = None
    rest: RestFields | None = None
    vars: dict[str, Any] = Field(default_factory=dict)

    @field_validator("host_key")
    @classmethod
    def _policy(cls, value: str | None) -> str | None:
        if value is not None and value not in (STRICT, ACCEPT_NEW) and not FINGERPRINT_RE.fullmatch(value):
            raise ValueError("host_key is 'strict', 'accept-new' or a pinned 'SHA256:...' fingerprint")
        return value


def _one_word(value: str | None) -> str | None:
    """A receiver address: `advertise` is typed at the appliance's `SFTP server IP:` question, one plain word."""
    if value is not None and (not value or any(c.isspace() for c in value) or has_control(value)):
        raise ValueError("an address or host name: one word, no spaces, line breaks or control characters")
    return value


class SiteReceiverFields(_Strict):
    """A group's own receiver (a data center's): where it listens and what its appliances are told.

    Hosts of the group push there instead of to the top-level `receiver:`; the limits stay the
    top-level ones. A host in several such groups takes the nearest (as variables: the deepest group,
    then the last by name)."""

    listen: str | None = None
    port: int | None = Field(None, ge=0, le=65535)
    advertise: str | None = None
    legacy_algorithms: bool | None = None

    @field_validator("listen", "advertise")
    @classmethod
    def _an_address(cls, value: str | None) -> str | None:
        return _one_word(value)


class GroupFields(_Strict):
    hosts: list[str] = Field(default_factory=list)
    children: list[str] = Field(default_factory=list)
    vars: dict[str, Any] = Field(default_factory=dict)
    receiver: SiteReceiverFields | None = None


class ReceiverFields(_Strict):
    """Where the built-in SFTP receiver listens, what appliances are told to connect to, its limits.

    The limits are those of ops.receiver.Receiver (its module docstring says what each bounds);
    `null` lifts one. The defaults repeat ops.receiver.DEFAULT_LIMITS without importing the
    receiver (and asyncssh); tests/test_receiver_limits.py checks they agree.
    """

    listen: str = "127.0.0.1"
    port: int = Field(0, ge=0, le=65535)
    advertise: str | None = None
    legacy_algorithms: bool = False

    @field_validator("listen", "advertise")
    @classmethod
    def _an_address(cls, value: str | None) -> str | None:
        return _one_word(value)
    max_bytes_per_host: int | None = Field(None, gt=0)
    max_files_per_host: int | None = Field(None, gt=0)            # files and directories
    max_unauthenticated: int | None = Field(128, gt=0)            # connections not logged in yet
    login_grace_time: float = Field(30.0, gt=0)                   # seconds to log in
    max_auth_attempts: int = Field(3, gt=0)                       # password attempts a connection
    max_auth_failures_per_address: int | None = Field(20, gt=0)   # then its connections are refused
    auth_failure_window: float = Field(60.0, gt=0)                # ... for this many seconds
    max_connections_per_host: int | None = Field(8, gt=0)
    max_handles_per_host: int | None = Field(32, gt=0)            # open files and directories
    max_write_gap: int | None = Field(64 * 1024 * 1024, ge=0)     # bytes a file may run ahead of its data

    def limits(self) -> dict[str, Any]:
        """The limits as keyword arguments of ops.receiver.Receiver."""
        return {
            "max_bytes_per_account": self.max_bytes_per_host,
            "max_files_per_account": self.max_files_per_host,
            "max_unauthenticated": self.max_unauthenticated,
            "login_grace_time": self.login_grace_time,
            "max_auth_attempts": self.max_auth_attempts,
            "max_auth_failures_per_address": self.max_auth_failures_per_address,
            "auth_failure_window": self.auth_failure_window,
            "max_connections_per_account": self.max_connections_per_host,
            "max_handles_per_account": self.max_handles_per_host,
            "max_write_gap": self.max_write_gap,
        }


class InventoryFile(_Strict):
    defaults: HostFields = Field(default_factory=HostFields)
    receiver: ReceiverFields = Field(default_factory=ReceiverFields)
    groups: dict[str, GroupFields] = Field(default_factory=dict)
    hosts: dict[str, HostFields | None] = Field(default_factory=dict)


@dataclass(frozen=True)
class Host:
    """One appliance, with everything inherited from defaults and groups resolved: configuration only.

    Frozen: a run never changes it. Secret references are resolved into a run's own view of the
    host by ops.targets; a provider that makes a host reachable (the lab's) returns a new `Host`
    with `password`/`rest_secrets` given instead of referenced.
    """

    name: str
    address: str
    port: int
    username: str
    password_ref: str | None
    host_key: HostKeyPolicy
    connect_timeout: float
    lab: dict[str, Any] | None  # a lab appliance's options (ops.lab.options), checked
    groups: list[str]
    vars: dict[str, Any]
    retries: int = 2
    settle: float = 0.5
    timezone: str | None = None
    password: Secret | None = field(default=None, repr=False)  # given, not referenced (a provider's)
    rest: RestFields = field(default_factory=RestFields)
    # REST passwords ("password", "gws_password") given by a provider (a lab appliance's accounts).
    rest_secrets: Mapping[str, Secret] = field(default_factory=dict, repr=False)
    site: str = ""  # the group whose receiver this host pushes to ("" is the top-level receiver)


@dataclass
class Inventory:
    path: Path
    hosts: dict[str, Host]
    groups: dict[str, list[str]]
    receiver: ReceiverFields
    # Each site's receiver ("" the top-level one; a group's with its own `receiver:`), fully merged.
    sites: dict[str, ReceiverFields] = field(default_factory=dict)

    def receiver_for(self, site: str) -> ReceiverFields:
        return self.sites.get(site, self.receiver)

    @property
    def base_dir(self) -> Path:
        """Where relative paths (file: secrets, known_hosts, CA bundles) start: the inventory's folder."""
        return _base_dir(self.path)

    def select(self, pattern: str) -> list[Host]:
        """Hosts matching an Ansible-like pattern: `all`, group, host, glob, `a,b`, `!excluded`."""
        chosen: list[str] = []
        excluded: set[str] = set()
        for raw in re.split(r"[,:]", pattern):
            item = raw.strip()
            if not item:
                continue
            target = excluded if item.startswith("!") else None
            item = item.lstrip("!")
            names = self._expand(item)
            if target is not None:
                target.update(names)
            else:
                chosen.extend(n for n in names if n not in chosen)
        return [self.hosts[n] for n in chosen if n not in excluded]

    def _expand(self, item: str) -> list[str]:
        if item == "all":
            return list(self.hosts)
        if item in self.groups:
            return self.groups[item]
        return [n for n in self.hosts if fnmatch.fnmatchcase(n, item)]


def _base_dir(path: Path) -> Path:
    return path if path.is_dir() else path.parent  # an Ansible inventory directory holds its own files


def load_inventory(path: Path) -> Inventory:
    """The toolkit's own inventory, or an Ansible one (YAML, INI, a directory, --list JSON: ops.ansible)."""
    from ops.ansible import is_ansible, looks_like_ini, read_ansible

    if path.is_dir():
        doc = read_ansible(path)
    else:
        try:
            doc = load(path, "inventory")
        except InputError:
            if not looks_like_ini(path):
                raise
            doc = read_ansible(path)  # INI (its problems and the YAML parser's are both reported)
        else:
            if doc.data is not None and not isinstance(doc.data, dict) and looks_like_ini(path):
                doc = read_ansible(path)  # INI holding only host names reads as a YAML string
            elif is_ansible(doc.data):
                doc = read_ansible(path, doc)
    if doc.data is None:
        doc.data = {}
    if not isinstance(doc.data, dict):
        raise InputError([doc.problem((), "an inventory is a mapping with hosts:, groups:, defaults:")])
    model: InventoryFile = validate(doc, InventoryFile)
    problems: list[Problem] = []
    members = _group_members(doc, model, problems)
    depths = _group_depths(model)
    # Each host's groups, found once (a lookup per host and group was quadratic in big inventories).
    memberships: dict[str, list[str]] = {}
    for group, names in members.items():
        for host in names:
            memberships.setdefault(host, []).append(group)
    hosts: dict[str, Host] = {}
    for name, fields in model.hosts.items():
        if not NAME_RE.fullmatch(name) or len(name) > MAX_HOST_NAME:
            problems.append(doc.problem(("hosts", name), f"host names use letters, digits, '.', '_' and '-', "
                                                        f"at most {MAX_HOST_NAME} characters"))
            continue
        if name in RESERVED_NAMES:
            problems.append(doc.problem(("hosts", name), f"{name!r} is the name of a file in every run directory"))
            continue
        hosts[name] = _build_host(doc, name, fields or HostFields(), model, memberships, depths, problems)
    for group, names in members.items():
        for host in names:
            if host not in model.hosts:
                problems.append(doc.problem(("groups", group, "hosts"), f"host {host!r} is not defined under hosts:"))
    if problems:
        raise InputError(problems)
    sites = {"": model.receiver}
    for group, group_fields in model.groups.items():
        if group_fields.receiver is not None:
            own = group_fields.receiver.model_dump(exclude_none=True)
            sites[group] = model.receiver.model_copy(update=own)
    return Inventory(path, hosts, members, model.receiver, sites)


def _group_members(doc: Document, model: InventoryFile, problems: list[Problem]) -> dict[str, list[str]]:
    resolved: dict[str, list[str]] = {}

    def visit(group: str, trail: list[str]) -> list[str]:
        if group in resolved:
            return resolved[group]
        if group in trail:
            cycle = " -> ".join(trail[trail.index(group):] + [group])
            problems.append(doc.problem(("groups", group, "children"), f"groups form a cycle: {cycle}"))
            return []
        fields = model.groups[group]
        names = list(dict.fromkeys(fields.hosts))
        for child in fields.children:
            if child not in model.groups:
                problems.append(doc.problem(("groups", group, "children"), f"unknown group {child!r}"))
                continue
            names = list(dict.fromkeys([*names, *visit(child, trail + [group])]))
        resolved[group] = names
        return names

    for group in model.groups:
        if group == "all":
            problems.append(doc.problem(("groups", group), "'all' is reserved for every host"))
        visit(group, [])
    return resolved


def _group_depths(model: InventoryFile) -> dict[str, int]:
    """Each group's depth below the top: 0 for a group no other group lists as a child, else one more
    than its deepest parent (Ansible's `Group.depth`, less one for its implicit `all`)."""
    parents: dict[str, list[str]] = {g: [] for g in model.groups}
    for group, fields in model.groups.items():
        for child in fields.children:
            if child in parents:
                parents[child].append(group)
    depths: dict[str, int] = {}

    def depth(group: str, trail: frozenset[str]) -> int:
        if group not in depths:
            above = [p for p in parents[group] if p not in trail]  # a cycle is reported elsewhere
            depths[group] = max((depth(p, trail | {group}) + 1 for p in above), default=0)
        return depths[group]

    for group in model.groups:
        depth(group, frozenset())
    return depths


def _build_host(doc: Document, name: str, fields: HostFields, model: InventoryFile,
                memberships: dict[str, list[str]], depths: dict[str, int], problems: list[Problem]) -> Host:
    defaults = model.defaults
    groups = memberships.get(name, [])
    variables: dict[str, Any] = dict(defaults.vars)
    # As Ansible: by depth (parents before children, so the more specific group wins), then groups
    # of equal depth by name (a later name wins); host vars win over all groups.
    for group in sorted(groups, key=lambda g: (depths.get(g, 0), g)):
        variables.update(model.groups[group].vars)
    variables.update(fields.vars)

    def pick(attr: str) -> Any:
        value = getattr(fields, attr)
        return value if value is not None else getattr(defaults, attr)

    lab_value = pick("lab")
    lab: dict[str, Any] | None = {} if lab_value is True else (dict(lab_value) if lab_value else None)
    if lab and LAB_VALIDATOR is not None:
        where = ("hosts", name, "lab") if fields.lab is not None else ("defaults", "lab")
        try:
            lab = LAB_VALIDATOR(lab)
        except ValidationError as exc:
            problems.extend(problems_from(doc, exc, where))
        except ValueError as exc:
            problems.append(doc.problem(where, str(exc)))
    address = pick("address")
    if address is None and lab is None:
        problems.append(doc.problem(("hosts", name), "address is missing (or set lab: true)"))
    username = pick("username") or "admin"
    host_key = pick("host_key") or STRICT
    known_hosts = pick("known_hosts")
    policy = HostKeyPolicy(
        mode="fingerprint" if host_key.startswith("SHA256:") else host_key,
        known_hosts=(_base_dir(doc.path) / Path(known_hosts).expanduser()) if known_hosts else None,
        fingerprint=host_key if host_key.startswith("SHA256:") else None,
    )
    password_ref = pick("password")
    if password_ref is None and lab is None:
        problems.append(doc.problem(("hosts", name), f"password is missing (use {REFERENCE_FORMS})"))
    rest = _merge_rest(doc, defaults.rest, fields.rest)
    # The receiver of the nearest group that has one, in the order variables are merged (the last wins).
    sited = [g for g in sorted(groups, key=lambda g: (depths.get(g, 0), g)) if model.groups[g].receiver is not None]
    site = sited[-1] if sited else ""
    return Host(name=name, address=address or "127.0.0.1", port=pick("port") or 22, username=username,
                password_ref=password_ref, host_key=policy, connect_timeout=pick("connect_timeout") or 30.0,
                lab=lab, groups=groups, vars=variables, timezone=pick("timezone"),
                retries=pick("retries") if pick("retries") is not None else 2, rest=rest,
                settle=pick("settle") if pick("settle") is not None else 0.5, site=site)


def _merge_rest(doc: Document, defaults: RestFields | None, own: RestFields | None) -> RestFields:
    merged = {**(defaults.model_dump(exclude_none=True) if defaults else {}),
              **(own.model_dump(exclude_none=True) if own else {})}
    if "ca_bundle" in merged:
        merged["ca_bundle"] = str(_base_dir(doc.path) / Path(merged["ca_bundle"]).expanduser())
    return RestFields(**merged)
