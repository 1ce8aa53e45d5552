"""A second floor, with scrapli's design (and ops' for commands other than `show`): bare asyncssh
writes the command, reads until its echo, only then sends return and reads until the prompt: two
round trips a command."""

from __future__ import annotations

import asyncio

from rtt_asyncssh import main

if __name__ == "__main__":
    asyncio.run(main(__doc__ or "", echo_first=True))
