"""The lab CLI as a login program: sshd runs this (ForceCommand) on a real pty.

It bridges the pty to the lab appliance process over a Unix socket: what the terminal delivers
goes to the appliance, what the appliance prints goes to the terminal. The pty's line discipline
does what a real VOS box's does: it echoes typed characters the moment they arrive (interleaved
with whatever is being printed), edits and delivers whole lines, and turns LF into CRLF. The
appliance switches echo off for passwords and to single keys for its pager with mode frames,
applied in order with the output, as `stty -echo` before a prompt would be.

Standard library only, run as a script (`python ptylogin.py SOCKET`), so it needs nothing from
the environment sshd gives a login program.

Frames, both ways: one type byte, a 4-byte big-endian length, the payload.
  D  data (terminal input towards the appliance, output towards the terminal)
  M  modes: payload b"echo=0|1,canonical=0|1"
"""

from __future__ import annotations

import os
import selectors
import socket
import struct
import sys
import termios

HEADER = struct.Struct(">cI")


def frame(kind: bytes, payload: bytes) -> bytes:
    return HEADER.pack(kind, len(payload)) + payload


def _set_modes(fd: int, payload: bytes) -> None:
    modes = dict(item.split("=") for item in payload.decode().split(","))
    attrs = termios.tcgetattr(fd)
    lflag = attrs[3]
    lflag = (lflag | termios.ECHO) if modes.get("echo") == "1" else (lflag & ~termios.ECHO)
    lflag = (lflag | termios.ICANON) if modes.get("canonical") == "1" else (lflag & ~termios.ICANON)
    attrs[3] = lflag
    attrs[6][termios.VMIN] = 1
    attrs[6][termios.VTIME] = 0
    # TCSADRAIN: what was printed before the change leaves under the old modes.
    termios.tcsetattr(fd, termios.TCSADRAIN, attrs)


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data):]


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: ptylogin.py SOCKET", file=sys.stderr)
        return 2
    tty_in, tty_out = sys.stdin.fileno(), sys.stdout.fileno()
    saved = termios.tcgetattr(tty_in) if os.isatty(tty_in) else None
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(argv[1])
    except OSError as exc:
        print(f"The CLI is not available: {exc.strerror}", file=sys.stderr)
        return 1
    selector = selectors.DefaultSelector()
    selector.register(tty_in, selectors.EVENT_READ, "tty")
    selector.register(conn, selectors.EVENT_READ, "app")
    pending = b""
    try:
        while True:
            for key, _ in selector.select():
                if key.data == "tty":
                    try:
                        data = os.read(tty_in, 4096)
                    except OSError:  # EIO: the pty is gone
                        data = b""
                    if not data:
                        return 0
                    conn.sendall(frame(b"D", data))
                    continue
                chunk = conn.recv(65536)
                if not chunk:
                    return 0
                pending += chunk
                while len(pending) >= HEADER.size:
                    kind, size = HEADER.unpack_from(pending)
                    if len(pending) < HEADER.size + size:
                        break
                    payload = pending[HEADER.size:HEADER.size + size]
                    pending = pending[HEADER.size + size:]
                    if kind == b"D":
                        _write_all(tty_out, payload)
                    elif kind == b"M" and saved is not None:
                        _set_modes(tty_in, payload)
    except (BrokenPipeError, ConnectionResetError):
        return 0
    finally:
        if saved is not None:
            try:
                termios.tcsetattr(tty_in, termios.TCSANOW, saved)
            except termios.error:
                pass
        conn.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
