"""The lab's host provider: a lab appliance on loopback for each `lab:` host of a run.

`install()` is called by the entry points (the `ops` command, the tests' conftest, the bench):
it gives the inventory the lab's option validator and the runner this provider. The runner,
the inventory and the actions import nothing from ops.lab.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses

from ops.inventory import Host, set_lab_validator
from ops.lab.options import validate_options
from ops.lab.server import LabAppliance, LabConfig
from ops.providers import install_provider
from ops.secrets import Secret
from ops.session.transport import HostKeyPolicy

__all__ = ["LabProvider", "install"]


class LabProvider:
    """Starts one LabAppliance per `lab:` host and returns the host as the run reaches it."""

    def __init__(self) -> None:
        self.labs: dict[str, LabAppliance] = {}

    def serves(self, host: Host) -> bool:
        return host.lab is not None

    async def start(self, hosts: list[Host]) -> dict[str, Host]:
        outcomes = await asyncio.gather(*(self._start(h) for h in hosts), return_exceptions=True)
        # Every start is awaited (none left running behind a failure), then the first error raised.
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
        return {host.name: host for host in outcomes if isinstance(host, Host)}

    async def _start(self, host: Host) -> Host:
        assert host.lab is not None
        options = validate_options(host.lab)  # again: an inventory loaded before install() was unchecked
        password = Secret.generate(20, source=f"lab:{host.name}")
        ui_password = Secret.generate(20, source=f"lab:{host.name}:ui")
        agent_password = Secret.generate(20, source=f"lab:{host.name}:agent")
        config = LabConfig(**{"hostname": host.name, **options}, username=host.username,
                           password=password.reveal(), ui_password=ui_password.reveal(),
                           agent_password=agent_password.reveal())
        lab = LabAppliance(config)
        await lab.start("127.0.0.1", 0)
        self.labs[host.name] = lab
        rest, rest_secrets = host.rest, dict(host.rest_secrets)
        if lab.rest is not None:
            from ops.lab.rest.state import DEFAULT_AGENTS

            # The lab's HTTPS side: its port, the CA it generated, the admin UI account and the
            # first agent for GWS, whatever the inventory said about a real appliance's REST.
            rest = host.rest.model_copy(update={
                "address": "127.0.0.1", "scheme": "https", "port": lab.rest_port, "username": config.ui_username,
                "gws_address": "127.0.0.1", "gws_scheme": "https", "gws_port": lab.rest_port,
                "gws_username": DEFAULT_AGENTS[0][1], "verify": True, "ca_bundle": str(lab.rest_ca_path),
                # The lab's second Finesse node (finesse_peer_node), where REST steps fail over to.
                "peers": [f"127.0.0.1:{lab.rest.peer_port}"] if getattr(lab.rest, "peer_port", None)
                else host.rest.peers})
            rest_secrets.update(password=ui_password, gws_password=agent_password)
        return dataclasses.replace(
            host, address="127.0.0.1", port=lab.port, password=password, rest=rest, rest_secrets=rest_secrets,
            host_key=HostKeyPolicy(mode="fingerprint", fingerprint=lab.host_key_fingerprint()))

    async def stop(self) -> None:
        labs, self.labs = self.labs, {}
        for lab in labs.values():
            with contextlib.suppress(Exception):
                await lab.stop()


def install() -> None:
    """Let inventories hold lab hosts (their options checked at load) and runs start them."""
    set_lab_validator(validate_options)
    install_provider(LabProvider)
