"""Host preparation: from an inventory `Host` (frozen configuration) to what one run reaches.

The one place where a host's secret references are resolved and its endpoints are built, once
per run and before any host starts (so every `prompt:` is asked up front, one host after
another): the SSH target (address, port, user, password, host key policy) and, for a playbook
with REST steps, the endpoint of each REST API. Hosts that a provider serves (lab hosts) come
back from the provider already reachable, their secrets given; they are prepared the same way.
Nothing here changes the `Host`: a run's view of a host is its `PreparedHost`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from ops.inventory import Host
from ops.rest.http import Endpoint
from ops.rest.settings import APIS, Api, endpoint_for
from ops.secrets import REFERENCE_FORMS, Secret, SecretError, resolve
from ops.session.transport import Target

__all__ = ["PreparedHost", "prepare"]


@dataclass(frozen=True)
class PreparedHost:
    """One host as this run reaches it."""

    host: Host
    ssh: Target
    rest: Mapping[str, Endpoint] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def name(self) -> str:
        return self.host.name

    def endpoint(self, api: str) -> Endpoint:
        try:
            return self.rest[api]
        except KeyError:
            raise ValueError(f"unknown REST API {api!r} (or the playbook has no REST step)") from None


def prepare(host: Host, *, base_dir: Path, prompt: Callable[[str], str] | None = None,
            rest: bool = False, resolved: dict[str, Secret] | None = None) -> PreparedHost:
    """Resolve `host`'s secrets and build its targets; SecretError names the host and the reference.

    `resolved` holds references already resolved in this run and takes the new ones: hosts that
    share a reference (`password: prompt:fleet admin`, `ops_password: cmd:ansible-vault view pw`)
    get one answer, one command run, as Ansible asks `--ask-pass` once.
    """
    known = resolved if resolved is not None else {}

    def resolve_once(reference: str) -> Secret:
        if reference not in known:
            known[reference] = resolve(reference, base_dir=base_dir, prompt=prompt)
        return known[reference]

    password = _ssh_password(host, resolve_once)
    ssh = Target(name=host.name, address=host.address, port=host.port, username=host.username,
                 password=password, host_key=host.host_key, connect_timeout=host.connect_timeout)
    endpoints: dict[str, Endpoint] = {}
    if rest:
        for api in APIS:
            endpoints[api] = endpoint_for(host, api, _rest_password(host, api, password, resolve_once))
    return PreparedHost(host=host, ssh=ssh, rest=MappingProxyType(endpoints))


def _ssh_password(host: Host, resolve: Callable[[str], Secret]) -> Secret:
    if host.password is not None:  # given by a provider (a lab appliance's own)
        return host.password
    if host.password_ref is None:
        raise SecretError(f"{host.name}: no password configured (set password: to {REFERENCE_FORMS})")
    try:
        return resolve(host.password_ref)
    except SecretError as exc:
        raise SecretError(f"{host.name}: {exc}") from None


def _rest_password(host: Host, api: Api, ssh_password: Secret, resolve: Callable[[str], Secret]) -> Secret | None:
    key = "password" if api == "finesse" else "gws_password"
    given = host.rest_secrets.get(key)
    if given is not None:
        return given
    reference = host.rest.password if api == "finesse" else host.rest.gws_password
    if reference is None:
        # Finesse's REST API takes the administrator's credentials; GWS has accounts of its own.
        return ssh_password if api == "finesse" else None
    try:
        return resolve(reference)
    except SecretError as exc:
        raise SecretError(f"{host.name}: rest.{key}: {exc}") from None
