"""`utils service list|restart|stop|start`: the platform's service manager.

The appliance keeps each service's state in `LabAppliance.services`. A restart prints the lines
of the reference (the "Don't press Ctrl-c" warning, `Service Manager is running`, repeated
`Name[STOPPING]` / `Name[STARTING]` lines, some with trailing spaces, then `Name[STARTED]`),
`config.service_delay` seconds apart. With `config.service_fails` a service that should start
stays `[STOPPED]`; like the real command, the restart itself then says nothing more.
"""

from __future__ import annotations

import asyncio

from ops.lab.commands import CommandContext, CommandError, command

ACTIVE = "STARTED"
NOT_ACTIVATED = "NOT ACTIVATED"  # listed as `Name[STOPPED]  Service Not Activated`

# The services of a Finesse node, in `utils service list` order.
DEFAULT_SERVICES: dict[str, str] = {
    "A Cisco DB": ACTIVE,
    "A Cisco DB Replicator": ACTIVE,
    "Cisco Audit Event Service": ACTIVE,
    "Cisco CDP": ACTIVE,
    "Cisco CDP Agent": ACTIVE,
    "Cisco Certificate Change Notification": ACTIVE,
    "Cisco Certificate Expiry Monitor": ACTIVE,
    "Cisco DRF Local": ACTIVE,
    "Cisco DRF Master": ACTIVE,
    "Cisco Database Layer Monitor": ACTIVE,
    "Cisco Finesse Notification Service": ACTIVE,
    "Cisco Finesse Tomcat": ACTIVE,
    "Cisco HCS UC Monitor Service": NOT_ACTIVATED,
    "Cisco Log Partition Monitoring Tool": ACTIVE,
    "Cisco RIS Data Collector": ACTIVE,
    "Cisco Syslog Agent": ACTIVE,
    "Cisco Tomcat": ACTIVE,
    "Cisco Tomcat Stats Servlet": ACTIVE,
    "Cisco Trace Collection Service": ACTIVE,
    "Cisco Web Proxy Service": ACTIVE,
    "Host Resources Agent": ACTIVE,
    "Platform Administrative Web Service": ACTIVE,
    "SNMP Master Agent": ACTIVE,
    "System NTP": ACTIVE,
}

RESTART_WARNING = (" Don't press Ctrl-c while the service is getting RESTARTED.If Service has not Restarted "
                   "Properly, execute the same Command Again")


@command("utils service list", usage="utils service list [page]")
async def service_list(ctx: CommandContext, args: list[str]) -> None:
    """Print every service with its state."""
    if args and args != ["page"]:
        raise CommandError(f"Invalid option: {args[0]}", syntax=True)
    lines = ["Requesting service status, please wait...", "Service Manager is running",
             "Getting list of all services", ">> Return code = 0"]
    lines += [f"{name}[STOPPED]  Service Not Activated" if state == NOT_ACTIVATED else f"{name}[{state}]"
              for name, state in ctx.lab.services.items()]
    await ctx.term.page(lines)


def _service(ctx: CommandContext, args: list[str]) -> str:
    if not args:
        raise CommandError("Missing service name", syntax=True)
    wanted = " ".join(args)
    for name in ctx.lab.services:
        if name.lower() == wanted.lower():
            if ctx.lab.services[name] == NOT_ACTIVATED:
                raise CommandError(f"Service {name} is not activated")
            return name
    raise CommandError(f"Invalid service name: {wanted}")


async def _status(ctx: CommandContext, name: str, state: str, repeat: int, trailing: str = "") -> None:
    for _ in range(repeat):
        await asyncio.sleep(ctx.lab.config.service_delay)
        ctx.lab.services[name] = state
        await ctx.term.writeline(f"{name}[{state}]{trailing}")


async def _stop(ctx: CommandContext, name: str) -> None:
    await _status(ctx, name, "STOPPING", 2, " ")
    ctx.lab.services[name] = "STOPPED"


async def _start(ctx: CommandContext, name: str) -> None:
    if ctx.lab.config.service_fails:
        await _status(ctx, name, "STOPPED", 2)
        return
    await _status(ctx, name, "STARTING", 2, "  ")
    await _status(ctx, name, ACTIVE, 1)


@command("utils service restart", usage="utils service restart service-name")
async def service_restart(ctx: CommandContext, args: list[str]) -> None:
    """Stop then start a service, printing its state as it goes."""
    name = _service(ctx, args)
    await ctx.term.writeline(RESTART_WARNING)
    await ctx.term.writeline("Service Manager is running")
    await _stop(ctx, name)
    await _start(ctx, name)


@command("utils service stop", usage="utils service stop service-name")
async def service_stop(ctx: CommandContext, args: list[str]) -> None:
    """Stop a service."""
    name = _service(ctx, args)
    await ctx.term.writeline("Service Manager is running")
    if ctx.lab.services[name] != "STOPPED":
        await _stop(ctx, name)
    await _status(ctx, name, "STOPPED", 1)


@command("utils service start", usage="utils service start service-name")
async def service_start(ctx: CommandContext, args: list[str]) -> None:
    """Start a service."""
    name = _service(ctx, args)
    await ctx.term.writeline("Service Manager is running")
    if ctx.lab.services[name] == ACTIVE:
        await ctx.term.writeline(f"{name}[{ACTIVE}]")
        return
    await _start(ctx, name)
