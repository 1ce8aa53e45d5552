"""`service` step: `utils service restart|stop|start <name>`, then a `utils service list` check.

```yaml
- name: Restart Finesse Tomcat
  service: {action: restart, name: Cisco Finesse Tomcat, timeout: 600}
```
The step follows the `Name[STOPPING]` / `Name[STARTING]` / `Name[STARTED]` lines until the
command returns, at most `timeout` seconds; the service must end `STARTED` (`STOPPED` for
`stop`) both in those lines and in `utils service list`. A command still running at the
timeout fails the host (its session is busy with it).
"""

from __future__ import annotations

import asyncio
from typing import Literal

from pydantic import Field, field_validator

from ops.actions.base import Args, CliStep, HostContext, StepFailed, StepResult
from ops.parsers.service import find, parse_service_list, progress
from ops.session.channel import VOSChannel
from ops.session.errors import ChannelTimeout, CommandFailed


class ServiceArgs(Args):
    action: Literal["restart", "stop", "start"] = "restart"
    name: str = "Cisco Finesse Tomcat"
    timeout: float = Field(600.0, gt=0, description="seconds the whole command may take")
    verify: bool = True

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("name is a service name, e.g. Cisco Finesse Tomcat")
        return value


class ServiceAction(CliStep):
    name = "service"
    Args = ServiceArgs
    changes_state = True  # a restart, start or stop (a status only reads, but is rare here)

    def command(self, args: ServiceArgs) -> str:
        return f"utils service {args.action} {args.name}"

    def commands(self, args: ServiceArgs) -> list[str]:
        return [self.command(args)] + (["utils service list"] if args.verify else [])

    async def send(self, channel: VOSChannel, command: str, args: ServiceArgs) -> str:
        try:
            return await asyncio.wait_for(channel.send(command, timeout=args.timeout), args.timeout)
        except TimeoutError:
            raise ChannelTimeout(f"{channel.host}: {command!r} did not finish within {args.timeout:g}s; "
                                 "the session is left to it") from None

    async def interpret(self, ctx: HostContext, args: ServiceArgs, command: str, output: str) -> StepResult:
        channel = await ctx.channel()
        want = "STOPPED" if args.action == "stop" else "STARTED"
        states = progress(output, args.name)
        data: dict[str, object] = {"command": command, "service": args.name, "action": args.action,
                                   "progress": states, "final": states[-1] if states else None, "output": output}
        problems = []
        if not states or states[-1] != want:
            went = " -> ".join(states) if states else "no status lines"
            problems.append(f"{args.name} ended {states[-1] if states else 'without a status'}, not {want} ({went})")
        if args.verify:
            try:
                listing = parse_service_list(await channel.send("utils service list", timeout=args.timeout))
            except CommandFailed as exc:
                raise StepFailed(f"{'; '.join(problems + [str(exc)])}", data) from None
            status = find(listing, args.name)
            data["listed"] = status.state if status else None
            if status is None:
                problems.append(f"{args.name} is not in `utils service list`")
            elif status.state != want:
                problems.append(f"`utils service list` shows {args.name} {status.state}")
        if problems:
            raise StepFailed("; ".join(problems), data)
        return StepResult(changed=True, message=f"{args.name} {' -> '.join(states)}", data=data)
