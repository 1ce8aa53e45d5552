"""Session and platform basics: version, pagination settings, `show myself`, `quit`/`exit`."""

from __future__ import annotations

from ops.lab.commands import CommandContext, CommandError, QuitSession, command, no_args


@command("show version active", usage="show version active")
async def show_version_active(ctx: CommandContext, args: list[str]) -> None:
    """Print the active software version, as `show version active` does."""
    no_args(args)
    await ctx.term.page([
        f"Active Master Version: {ctx.lab.config.version}",
        "Active Version Installed Software Options:",
        "No Installed Software Options Found.",
    ])


@command("show myself", usage="show myself")
async def show_myself(ctx: CommandContext, args: list[str]) -> None:
    """Print the logged-in account's properties."""
    no_args(args)
    await ctx.term.page([
        f"Machine Name    : {ctx.lab.config.hostname}",
        f"account name    : {ctx.lab.config.username}",
        "privilege level : 4",
        "command count disabled : false",
        "logging setting : disabled",
    ])


@command("set cli pagination", usage="set cli pagination {on|off}")
async def set_cli_pagination(ctx: CommandContext, args: list[str]) -> None:
    """Turn the pager on or off for this session."""
    if len(args) != 1 or args[0].lower() not in ("on", "off"):
        raise CommandError("Invalid option for pagination" if args else "Missing parameter", syntax=True)
    ctx.term.pagination = args[0].lower() == "on"
    await ctx.term.writeline(f"Automatic Pagination : {'On' if ctx.term.pagination else 'Off'}")


@command("show cli pagination", usage="show cli pagination")
async def show_cli_pagination(ctx: CommandContext, args: list[str]) -> None:
    """Report whether the pager is on."""
    no_args(args)
    await ctx.term.writeline(f"Automatic Pagination : {'On' if ctx.term.pagination else 'Off'}.")


async def _quit(ctx: CommandContext, args: list[str]) -> None:
    raise QuitSession()


command("quit", usage="quit")(_quit)
command("exit", usage="exit")(_quit)
