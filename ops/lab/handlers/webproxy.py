"""`utils webproxy cache clear {all|webproxy|desktop|rest|shindig}` (Finesse 12.6 admin guide).

Every successful clear increments `LabAppliance.webproxy_cache_generation` (the lab's REST side
serves cached responses per generation). It fails when `config.webproxy_fails` is set or the
Cisco Web Proxy Service is not running. The `rest` success wording is modelled on the
documented `desktop` one.
"""

from __future__ import annotations

from ops.lab.commands import CommandContext, CommandError, command

CACHES = ("webproxy", "desktop", "rest", "shindig")
PROXY = "Cisco Web Proxy Service"


@command("utils webproxy cache clear", usage="utils webproxy cache clear {all|webproxy|desktop|rest|shindig}")
async def webproxy_cache_clear(ctx: CommandContext, args: list[str]) -> None:
    """Clear one (or every) cache of the Finesse web proxy."""
    if len(args) != 1 or args[0].lower() not in CACHES + ("all",):
        raise CommandError(f"Invalid option: {args[0]}" if args else "Missing cache name", syntax=True)
    which = args[0].lower()
    if ctx.lab.config.webproxy_fails or ctx.lab.services.get(PROXY) != "STARTED":
        raise CommandError(f"Failed to clear {which} cache: unable to reach {PROXY}.",
                           "Please make sure the service is running and try again.")
    ctx.lab.webproxy_cache_generation += 1
    for cache in CACHES if which == "all" else (which,):
        await ctx.term.writeline(f"Successfully cleared {cache} cache")
