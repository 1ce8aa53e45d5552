"""`ops finesse export` and `ops finesse diff`: a cluster's configuration as `finesse_config` YAML.

```
ops finesse export finesse-a -i inventory.yaml -o playbooks/finesse-a-config.yaml
ops finesse diff finesse-a fin-prod-b -i inventory.yaml [--prune]
```
`export` reads the configuration of the host's cluster (from its primary node, as the step does)
and writes it as a playbook with one `finesse_config` step, so an admin starts from what they
have: run it with `--check` (or `plan_only: true`) and it finds nothing to do. `diff` reads two
clusters and prints the plan that would make the second like the first (deletes too with
`--prune`); it exits 0 when they agree, 1 when they differ, 2 on an error.

Entry-point code: it starts lab hosts through the installed providers, as a run does.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from ops.actions.base import StepFailed
from ops.actions.finesse_config import Current, FinesseConfigArgs, plan, read_current
from ops.inventory import Host, Inventory
from ops.rest.failover import Route, route
from ops.rest.finesse_config import ConfigClient
from ops.rest.http import RestClient, RestError
from ops.secrets import SecretError, mask
from ops.textsafe import inert, inert_line

__all__ = ["desired_state", "handle", "playbook_text", "read_cluster"]

EXIT_OK, EXIT_DIFFERENT, EXIT_ERROR = 0, 1, 2


def handle(args: argparse.Namespace) -> int:
    """Run `ops finesse export|diff`; the exit code (0 done or same, 1 different, 2 error)."""
    from ops.inventory import load_inventory
    from ops.yamlsource import InputError

    try:
        inventory = load_inventory(args.inventory)
    except InputError as exc:
        print(inert(str(exc)), file=sys.stderr)
        return EXIT_ERROR
    try:
        if args.finesse_command == "export":
            return asyncio.run(_export(inventory, args.host, args.output))
        return asyncio.run(_diff(inventory, args.source, args.target, args.prune))
    except (RestError, SecretError, StepFailed, LookupError, RuntimeError) as exc:
        print(inert(f"ops finesse {args.finesse_command}: {inert(mask(str(exc)))}"), file=sys.stderr)
        return EXIT_ERROR


async def _export(inventory: Inventory, name: str, output: Path | None) -> int:
    (current, chosen), = await read_clusters(inventory, [name])
    text = playbook_text(name, desired_state(current), chosen)
    if output is None:
        sys.stdout.write(text)
    else:
        from ops.fileio import write_atomic

        write_atomic(output, text)
        print(inert(f"wrote {output}: the configuration of {name}'s cluster, read from {chosen.node.label}"),
              file=sys.stderr)
    return EXIT_OK


async def _diff(inventory: Inventory, source: str, target: str, prune: bool) -> int:
    (model, _), (other, chosen) = await read_clusters(inventory, [source, target])
    desired = FinesseConfigArgs.model_validate({**desired_state(model), "prune": prune})
    changes = plan(desired, other)
    for line in changes.diff():
        print(inert(line))
    return EXIT_DIFFERENT if changes.changes or changes.kept else EXIT_OK


async def read_clusters(inventory: Inventory, names: list[str]) -> list[tuple[Current, Route]]:
    """Each named host's cluster configuration, read from its primary node (lab hosts started first)."""
    from ops.providers import providers
    from ops.targets import prepare

    hosts: list[Host] = []
    for name in names:
        if name not in inventory.hosts:
            raise LookupError(f"no host {name!r} in {inventory.path} (hosts: {', '.join(sorted(inventory.hosts))})")
        hosts.append(inventory.hosts[name])
    started = providers()
    try:
        served: dict[str, Host] = {}
        for provider in started:
            mine = [h for h in hosts if provider.serves(h) and h.name not in served]
            if mine:
                served.update(await provider.start(mine))
        reachable = [served.get(h.name, h) for h in hosts]
        if any(h.lab is not None and h.name not in served for h in hosts):
            raise RuntimeError("no provider starts lab hosts: the entry point installs ops.lab.provider")
        resolved: dict[str, Any] = {}
        prepared = [prepare(h, base_dir=inventory.base_dir, rest=True, resolved=resolved) for h in reachable]
        return list(await asyncio.gather(*(read_cluster(RestClient(p.endpoint("finesse"))) for p in prepared)))
    finally:
        for provider in started:
            await provider.stop()


async def read_cluster(http: RestClient) -> tuple[Current, Route]:
    """Everything the configuration APIs list, from the cluster's primary node (the client is closed)."""
    async with http:
        chosen = await route(http, "primary")
        return await read_current(ConfigClient(http), None), chosen


def desired_state(current: Current) -> dict[str, Any]:
    """`current` as `finesse_config` arguments (natural keys only: no database ids)."""
    books = []
    for name, book in sorted(current.phone_books.items()):
        contacts = [{"first_name": c["first_name"], "last_name": c["last_name"], "phone_number": c["phone_number"],
                     "description": c["description"]} for c in book.get("contacts", [])]
        books.append({"name": name, "type": book["type"],
                      "contacts": sorted(contacts, key=lambda c: (c["last_name"], c["first_name"], c["phone_number"]))})
    teams = []
    for name, team in sorted(current.teams.items()):
        teams.append({"name": name,
                      "reason_codes": [{"category": c, "code": n} for c, n in sorted(team["reason_codes"])],
                      "wrap_up_reasons": sorted(team["wrap_up_reasons"]),
                      "phone_books": sorted(team["phone_books"])})
    return {
        "reason_codes": [{"category": c, "code": n, "label": r["label"], "for_all": r["for_all"]}
                         for (c, n), r in sorted(current.reason_codes.items())],
        "wrap_up_reasons": [{"label": label, "for_all": r["for_all"]}
                            for label, r in sorted(current.wrap_up_reasons.items())],
        "phone_books": books,
        "teams": teams,
    }


def playbook_text(host: str, desired: dict[str, Any], chosen: Route) -> str:
    """A playbook that keeps `host`'s cluster as it is now (YAML quotes what an appliance sent)."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = (f"# The Finesse configuration of {host}'s cluster, read from {inert_line(chosen.node.label)} at {when}\n"
              "# by `ops finesse export`. Edit the desired state, then `ops run THIS --check` shows the plan.\n"
              "# prune: true would delete what is on the cluster and not here.\n")
    book = {"name": f"Finesse configuration of {host}'s cluster", "hosts": host,
            "steps": [{"name": "Finesse configuration", "finesse_config": {"prune": False, **desired}}]}
    body = yaml.safe_dump(book, sort_keys=False, allow_unicode=False, width=110, default_flow_style=False)
    return header + inert(body)
