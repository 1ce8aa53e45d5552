"""A lab appliance's settings: `LabConfig`, the one definition, and the inventory's view of it.

An inventory's `lab:` mapping is checked against `LabConfig` itself (its fields, types, defaults
and the bounds in each field's metadata), less the fields a run fills in (`RUNTIME`: the
account's user and passwords, the log root, the clock). The inventory holds the mapping as it
is and knows nothing of the lab: `ops.lab.provider.install()` gives it this validator.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator

from ops.lab import faults
from ops.lab.hostile import HostileProfile, profile_from
from ops.timezones import ZoneName

__all__ = ["RUNTIME", "LabConfig", "validate_options"]


@dataclass
class LabConfig:
    """How one lab appliance looks and misbehaves."""

    hostname: str = "finesse-a"
    username: str = "admin"
    password: str = "lab-Admin-pw1"
    # ("keyboard-interactive",) models CUCM releases that refuse plain password auth.
    auth_methods: tuple[str, ...] = ("password", "keyboard-interactive")
    log_root: Path | None = None  # None: generate a tree in a temp dir removed on stop()
    seed: int = 0
    now: float | None = None  # None: time.time() at start
    page_lines: int = field(default=20, metadata={"ge": 2})
    banner_delay: float = field(default=0.0, metadata={"ge": 0})
    output_chunk: int = field(default=0, metadata={"ge": 0})
    output_delay: float = field(default=0.0, metadata={"ge": 0})
    nested_layout: bool = False
    sftp_legacy_only: bool = False
    version: str = "12.6.1.10000-5"
    transfer_delay: float = field(default=0.0, metadata={"ge": 0})
    # bytes a second each push writes at, as over a slow WAN link (0: no limit)
    transfer_rate: int = field(default=0, metadata={"ge": 0})
    faults: tuple[str, ...] = ()  # see ops.lab.faults.FAULTS
    clock_skew: float = 0.0  # seconds the appliance's clock is ahead (negative: behind)
    # The appliance's time zone (IANA name): `file list ... detail` prints times in it and abstime
    # is read in it, as on a real appliance. None: this machine's local zone.
    timezone: ZoneName | None = None
    # The Finesse admin UI account (ops.lab.accounts.AdminUIAccount).
    ui_username: str = "admin"
    ui_password: str = "Finesse-UI-pw1"
    # Older releases only know `utils reset_ui_administrator_password`.
    ui_reset_command: str = field(default="utils reset_application_ui_administrator_password", metadata={
        "choices": ("utils reset_application_ui_administrator_password", "utils reset_ui_administrator_password")})
    # fault: resets after this many successful ones fail
    ui_reset_breaks_after: int | None = field(default=None, metadata={"ge": 0})
    # `show network status`: agents on the desktop (8445) and on XMPP over BOSH (7443).
    desktop_clients: int = field(default=12, metadata={"ge": 0, "le": 5000})
    xmpp_clients: int = field(default=12, metadata={"ge": 0, "le": 5000})
    # between the status lines of `utils service restart`
    service_delay: float = field(default=0.02, metadata={"ge": 0})
    service_fails: bool = False  # fault: a (re)started service stays STOPPED
    webproxy_fails: bool = False  # fault: `utils webproxy cache clear` fails
    # The REST side (ops.lab.rest): Finesse and Genesys Web Services over HTTPS on one port.
    rest: bool = True
    finesse_status: str = "IN_SERVICE"
    # or "secondary": which node of the cluster this one is
    finesse_role: str = field(default="primary", metadata={"choices": ("primary", "secondary")})
    finesse_peer: str | None = None  # the other node's hostname (default: "<hostname>-peer")
    deployment_type: str = "UCCE"
    agent_password: str = "Agent-pw-1"  # every lab agent's password (Finesse User and GWS)
    gws_version: str = "8.5.201.09"
    # seconds between a GWS operation's statusCode 0 and the state change
    gws_delay: float = field(default=0.2, metadata={"ge": 0})
    agent_state_stuck: bool = False  # fault: agent state changes are accepted but never happen
    rest_malformed: bool = False  # fault: XML and JSON bodies are cut off halfway
    hostile: HostileProfile | None = None  # the hostile terminal profile (ops.lab.hostile)
    # Behind Debian's OpenSSH sshd, the CLI the login program on a real pty (ops.lab.sshd);
    # its pushes then use OpenSSH's own sftp client.
    sshd: bool = False
    # How passwords typed at the CLI are echoed: "stars" (one * each), "clear" (as typed: some
    # releases' prompts do), "mangled" (each character, a backspace, then *: `c\b*`).
    secret_echo: str = field(default="stars", metadata={"choices": ("stars", "clear", "mangled")})
    rest_echo_requests: bool = False  # every REST reply carries the request's headers back (a debug proxy)
    # The Finesse cluster (ops.lab.rest.server): serve the other node too, on a port of its own
    # (LabAppliance.rest.peer_port), sharing this node's agents and configuration.
    finesse_peer_node: bool = False
    finesse_peer_status: str = "IN_SERVICE"  # the peer node's SystemInfo status
    finesse_refuses: bool = False  # fault: this node's HTTPS port refuses connections (Tomcat down)
    finesse_peer_refuses: bool = False  # fault: the peer node's HTTPS port refuses connections
    # lowers every maximum count of the configuration APIs (ops.lab.rest.configdb) to this
    config_max_items: int | None = field(default=None, metadata={"ge": 0})


# Set by the run for each lab host, never by an inventory (a password there would be clear text).
RUNTIME = frozenset({"username", "password", "ui_username", "ui_password", "agent_password", "log_root", "now"})


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    @field_validator("faults", check_fields=False)
    @classmethod
    def _known_faults(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        faults.check(value)
        return value

    @field_validator("hostile", mode="before", check_fields=False)
    @classmethod
    def _hostile(cls, value: Any) -> HostileProfile | None:
        return profile_from(value)


def _options_model() -> type[BaseModel]:
    hints = typing.get_type_hints(LabConfig, include_extras=True)  # ZoneName keeps its check
    spec: dict[str, Any] = {}
    for item in fields(LabConfig):
        if item.name in RUNTIME:
            continue
        kind: Any = hints[item.name]
        bounds = dict(item.metadata)
        choices = bounds.pop("choices", None)
        if choices is not None:
            kind = Literal[choices]
        default = item.default if item.default is not MISSING else None
        spec[item.name] = (kind, Field(default, **bounds))
    return create_model("LabOptions", __base__=_Base, **spec)


LabOptions = _options_model()


def validate_options(value: Mapping[str, Any]) -> dict[str, Any]:
    """The inventory's `lab:` mapping, checked (pydantic.ValidationError naming the key) and with
    only the keys it set; `LabConfig(**validated, ...)` then holds it."""
    model = LabOptions.model_validate(dict(value))
    return {name: getattr(model, name) for name in model.model_fields_set}
