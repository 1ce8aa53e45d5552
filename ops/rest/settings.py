"""From a host's inventory `rest:` settings to the `Endpoint` of one of its APIs (secrets: ops.targets)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ops.inventory import RestFields
from ops.rest.http import Endpoint
from ops.secrets import Secret

if TYPE_CHECKING:
    from ops.inventory import Host

Api = Literal["finesse", "gws"]
APIS: tuple[Api, ...] = ("finesse", "gws")

FINESSE_PORT = 8445  # the Finesse desktop/REST HTTPS port
GWS_PORT = 8443
DEFAULT_TIMEOUT = 30.0
GWS_MAX_URL = 2000
GWS_MAX_URL_SOURCE = ("Genesys Web Services, 'Making a Request' (seed 002): 'Ensure that the entire URL request "
                      "does not exceed 2000 characters'")


def _host_part(address: str) -> str:
    return f"[{address}]" if ":" in address and not address.startswith("[") else address


def endpoint_for(host: Host, api: Api, password: Secret | None) -> Endpoint:
    """Where `api` of `host` is and how to sign in (`password`: resolved by ops.targets)."""
    rest = host.rest
    username: str | None
    peers: tuple[str, ...] = ()
    if api == "finesse":
        address = rest.address or host.address
        scheme, port = rest.scheme or "https", rest.port or FINESSE_PORT
        username = rest.username or host.username
        for peer in rest.peers or []:
            peer_address, peer_port = RestFields.split_peer(peer)
            peers += (f"{scheme}://{_host_part(peer_address)}:{peer_port or port}",)
    else:
        address = rest.gws_address or rest.address or host.address
        scheme, port = rest.gws_scheme or rest.scheme or "https", rest.gws_port or GWS_PORT
        username = rest.gws_username
    return Endpoint(
        name=host.name,
        base_url=f"{scheme}://{_host_part(address)}:{port}",
        username=username,
        password=password,
        verify=rest.verify if rest.verify is not None else True,
        ca_bundle=Path(rest.ca_bundle) if rest.ca_bundle else None,
        timeout=rest.timeout or DEFAULT_TIMEOUT,
        peers=peers,
        failover=api == "finesse",
        max_url_length=GWS_MAX_URL if api == "gws" else None,
        max_url_source=GWS_MAX_URL_SOURCE if api == "gws" else "",
    )
