"""`webproxy_cache_clear` step: `utils webproxy cache clear rest` (or another cache).

```yaml
- name: Clear the REST cache
  webproxy_cache_clear: {cache: rest}     # all | webproxy | desktop | rest | shindig
```
A clear that fails fails the step with the appliance's text.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field

from ops.actions.base import Action, Args, HostContext, StepFailed, StepResult
from ops.parsers.errors import one_line
from ops.session.errors import CommandFailed

CLEARED_RE = re.compile(r"(?:success\w*\s+cleared|cleared\s+successfully)\s+(?:the\s+)?(\w+)?", re.I)
TROUBLE_RE = re.compile(r"\b(?:fail\w*|error|unable|invalid)\b", re.I)


class WebproxyArgs(Args):
    cache: Literal["rest", "desktop", "webproxy", "shindig", "all"] = "rest"
    timeout: float = Field(120.0, gt=0)


def _command(args: WebproxyArgs) -> str:
    return f"utils webproxy cache clear {args.cache}"


class WebproxyCacheClearAction(Action):
    name = "webproxy_cache_clear"
    Args = WebproxyArgs

    def commands(self, args: WebproxyArgs) -> list[str]:
        return [_command(args)]

    async def run(self, ctx: HostContext, args: WebproxyArgs) -> StepResult:
        channel = await ctx.channel()
        command = _command(args)
        try:
            output = await channel.send(command, timeout=args.timeout)
        except CommandFailed as exc:
            raise StepFailed(str(exc), {"command": command, "output": exc.output}) from None
        cleared = [m.group(1) for m in CLEARED_RE.finditer(output) if m.group(1)]
        data = {"command": command, "output": output, "cleared": cleared}
        if not cleared or TROUBLE_RE.search(output):
            raise StepFailed(f"{command!r} did not report a cleared cache: {one_line(output)}", data)
        return StepResult(ok=True, changed=True, message=f"cleared {', '.join(cleared)} cache", data=data)
