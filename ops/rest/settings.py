"""From a host's inventory `rest:` settings to the `Endpoint` of one of its APIs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ops.rest.http import Endpoint
from ops.secrets import Secret, SecretError, resolve

if TYPE_CHECKING:
    from ops.inventory import Host

Api = Literal["finesse", "gws"]

FINESSE_PORT = 8445  # the Finesse desktop/REST HTTPS port
GWS_PORT = 8443
DEFAULT_TIMEOUT = 30.0


def _host_part(address: str) -> str:
    return f"[{address}]" if ":" in address and not address.startswith("[") else address


def endpoint_for(host: Host, api: Api, *, base_dir: Path,
                 prompt: Callable[[str], str] | None = None) -> Endpoint:
    """Where `api` of `host` is and how to sign in; secret references are resolved here."""
    rest = host.rest
    username: str | None
    if api == "finesse":
        address = rest.address or host.address
        scheme, port = rest.scheme or "https", rest.port or FINESSE_PORT
        username = rest.username or host.username
        password = _secret(host, "password", rest.password, base_dir, prompt)
        if password is None:
            password = host.password if host.password is not None else (
                host.resolve_password(base_dir, prompt) if host.password_ref else None)
    else:
        address = rest.gws_address or rest.address or host.address
        scheme, port = rest.gws_scheme or rest.scheme or "https", rest.gws_port or GWS_PORT
        username = rest.gws_username
        password = _secret(host, "gws_password", rest.gws_password, base_dir, prompt)
    return Endpoint(
        name=host.name,
        base_url=f"{scheme}://{_host_part(address)}:{port}",
        username=username,
        password=password,
        verify=rest.verify if rest.verify is not None else True,
        ca_bundle=Path(rest.ca_bundle) if rest.ca_bundle else None,
        timeout=rest.timeout or DEFAULT_TIMEOUT,
    )


def _secret(host: Host, key: str, reference: str | None, base_dir: Path,
            prompt: Callable[[str], str] | None) -> Secret | None:
    if key in host.rest_secrets:
        return host.rest_secrets[key]
    if reference is None:
        return None
    try:
        secret = resolve(reference, base_dir=base_dir, prompt=prompt)
    except SecretError as exc:
        raise SecretError(f"{host.name}: rest.{key}: {exc}") from None
    host.rest_secrets[key] = secret
    return secret
