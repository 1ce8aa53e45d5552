"""`network_status` step: `show network status ...` as records, a per-port summary and files.

```yaml
- name: Who is on the desktop and on XMPP
  network_status: {process: true, search: ":8445"}   # nodns is on unless `nodns: false`
  register: clients        # clients.summary.ports['8445'].remote_clients
```
The step writes `network-status-<n>.json` (command, records, summary) and `.csv` (records) into
the host's run directory (`<save_as>` instead of `<n>` when given).
"""

from __future__ import annotations

import csv
import json
import re
from typing import Any

from pydantic import Field, field_validator

from ops.actions.base import Args, CliStep, HostContext, StepFailed, StepResult
from ops.parsers.network_status import FIELDS, NetworkStatusError, parse_network_status, summarize
from ops.textsafe import cell

SLUG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class NetworkStatusArgs(Args):
    detail: bool = False
    listen: bool = False
    process: bool = False
    all: bool = False
    nodns: bool = Field(True, description="numeric addresses and ports (the summary is keyed by port number)")
    search: str | None = None
    save_as: str | None = None
    timeout: float = Field(60.0, gt=0)

    @field_validator("search")
    @classmethod
    def _search(cls, value: str | None) -> str | None:
        if value is not None and (not value or any(c.isspace() for c in value)):
            raise ValueError("search is one word without spaces, e.g. ':8445'")
        return value

    @field_validator("save_as")
    @classmethod
    def _slug(cls, value: str | None) -> str | None:
        if value is not None and not SLUG_RE.fullmatch(value):
            raise ValueError("save_as is a file name part: letters, digits, '.', '_' and '-'")
        return value


def build_command(args: NetworkStatusArgs) -> str:
    words = ["show network status"] + [o for o in ("detail", "listen", "process", "all", "nodns") if getattr(args, o)]
    if args.search is not None:
        words += ["search", args.search]
    return " ".join(words)


def _headline(summary: dict[str, Any]) -> str:
    busy = sorted(((p, s["remote_clients"]) for p, s in summary["ports"].items() if s["remote_clients"]),
                  key=lambda item: -item[1])[:3]
    clients = ", ".join(f"{port}: {count} client{'s' if count != 1 else ''}" for port, count in busy)
    return f"{summary['connections']} connections" + (f"; {clients}" if clients else "")


class NetworkStatusAction(CliStep):
    name = "network_status"
    Args = NetworkStatusArgs

    def command(self, args: NetworkStatusArgs) -> str:
        return build_command(args)

    async def interpret(self, ctx: HostContext, args: NetworkStatusArgs, command: str, output: str) -> StepResult:
        try:
            records = parse_network_status(output)
        except NetworkStatusError as exc:
            raise StepFailed(f"{command!r} failed: {exc}", {"command": command}) from None
        summary = summarize(records)
        rows = [r.as_dict() for r in records]
        ctx.host_dir.mkdir(parents=True, exist_ok=True)
        if args.save_as:
            stem = f"network-status-{args.save_as}"
        else:
            stem = f"network-status-{len(list(ctx.host_dir.glob('network-status-*.json'))) + 1}"
        json_path, csv_path = ctx.host_dir / f"{stem}.json", ctx.host_dir / f"{stem}.csv"
        json_path.write_text(json.dumps({"command": command, "summary": summary, "records": rows}, indent=2) + "\n",
                             encoding="utf-8")
        with csv_path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=FIELDS)
            writer.writeheader()
            # Appliance text in a spreadsheet is data: a cell never runs as a formula.
            writer.writerows({key: cell(value) for key, value in row.items()} for row in rows)
        data = {"command": command, "output": output, "records": rows, "summary": summary,
                "json_file": json_path.name, "csv_file": csv_path.name}
        return StepResult(changed=False, message=_headline(summary), data=data)
