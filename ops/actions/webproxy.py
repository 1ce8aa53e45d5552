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

from ops.actions.base import Args, CliStep, HostContext, StepFailed, StepResult
from ops.parsers.errors import one_line

# The success wording is documented for `desktop` only ("Successfully cleared desktop cache"), so
# success is read loosely: the output speaks of clearing and of nothing going wrong.
CLEARED_RE = re.compile(r"\bclear(?:ed|s)?\b", re.I)
CACHE_RE = re.compile(r"\b(webproxy|desktop|rest|shindig)\b", re.I)
TROUBLE_RE = re.compile(r"\b(?:fail\w*|error|unable|invalid|could\s+not|cannot|can't)\b", re.I)


def cleared_caches(output: str, requested: str) -> list[str] | None:
    """The caches the appliance says it cleared (the requested one if it names none), or None when
    its output does not say it cleared anything, or says something went wrong."""
    if not CLEARED_RE.search(output) or TROUBLE_RE.search(output):
        return None
    named = list(dict.fromkeys(m.group(1).lower() for m in CACHE_RE.finditer(output)))
    return named or [requested]


class WebproxyArgs(Args):
    cache: Literal["rest", "desktop", "webproxy", "shindig", "all"] = "rest"
    timeout: float = Field(120.0, gt=0)


class WebproxyCacheClearAction(CliStep):
    name = "webproxy_cache_clear"
    changes_state = True
    Args = WebproxyArgs

    def command(self, args: WebproxyArgs) -> str:
        return f"utils webproxy cache clear {args.cache}"

    async def interpret(self, ctx: HostContext, args: WebproxyArgs, command: str, output: str) -> StepResult:
        cleared = cleared_caches(output, args.cache)
        data = {"command": command, "output": output, "cleared": cleared or []}
        if cleared is None:
            raise StepFailed(f"{command!r} did not report a cleared cache: {one_line(output)}", data)
        return StepResult(changed=True, message=f"cleared {', '.join(cleared)} cache", data=data)
