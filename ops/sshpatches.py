"""Two costs asyncssh's packet layer pays on every packet that ops does not need; both removed here.

ops runs hundreds of SSH connections on one event loop (the CLI sessions, the receiver's SFTP
sessions, the lab appliances), and with small SFTP requests the cost per packet, not per byte,
is what bounds a fan-out. Profiles of a 200-host pull put asyncssh's per-packet Python work
first. Two pieces of it do nothing for ops:

* **An SSH_MSG_IGNORE before every packet.** asyncssh sends an empty ignore packet ahead of each
  packet once encryption is on: the countermeasure to the chosen-plaintext attack on SSH's CBC
  mode, whose IV for a packet is the previous packet's last ciphertext block. With an AEAD cipher
  (AES-GCM, chacha20-poly1305: what ops and the lab negotiate first) every packet has its own
  nonce and the ignore packet protects nothing (OpenSSH sends none); asyncssh sends it anyway,
  which doubles the packets encrypted, decrypted and written to the socket. Skipped for AEAD
  ciphers only: every other cipher (the CBC of the receiver's `legacy_algorithms` for old VOS
  clients, CTR) keeps it.
* **Log text built for nothing.** Each packet sent or received is described in a formatted string
  before asyncssh's logger finds that packet logging (debug level 3) is off, and its debug1
  messages convert their arguments to text before the level check. Both now return first when the
  message would not be logged; with logging on, the output is unchanged.

`apply()` is idempotent; the entry points (the `ops` command, ops.api, the tests' conftest, the bench)
call it, never an import.
tests/test_sshpatches.py fails if a newer asyncssh renames what is patched here, so the patches
cannot silently stop applying.
"""

from __future__ import annotations

import logging
from typing import Any

from asyncssh import connection, packet
from asyncssh import logging as ssh_logging

__all__ = ["apply", "applied"]

_applied = False


def applied() -> bool:
    """Whether the patches are in place (tests check it)."""
    return _applied


def apply() -> None:
    """Patch asyncssh's packet layer (once per process).

    An asyncssh without what is patched here is left as it is: slower, never broken.
    """
    global _applied
    if _applied:
        return
    try:
        from asyncssh.encryption import ChachaEncryption, GCMEncryption

        send_packet = connection.SSHConnection.send_packet
        log_packet = packet.SSHPacketLogger._log_packet
        log = ssh_logging.SSHLogger.log
        msg_ignore: int = connection.MSG_IGNORE
        empty_string = (packet.String(b""),)
    except (ImportError, AttributeError):
        return
    aead = (GCMEncryption, ChachaEncryption)

    def send_packet_without_aead_ignore(self: Any, pkttype: int, *args: bytes, handler: Any = None) -> None:
        # asyncssh's own send_packet calls self.send_packet(MSG_IGNORE, String(b'')) first: this
        # is where that call lands.
        if pkttype == msg_ignore and args == empty_string and isinstance(getattr(self, "_send_encryption", None), aead):
            return
        send_packet(self, pkttype, *args, handler=handler)

    def log_packet_when_enabled(self: Any, msg: str, pkttype: int, pktid: Any, pkt: Any, note: str) -> None:
        logger = self.logger
        if getattr(logger, "_debug_level", 3) >= 3 and logger.isEnabledFor(logging.DEBUG):
            log_packet(self, msg, pkttype, pktid, pkt, note)

    def log_when_enabled(self: Any, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if self.isEnabledFor(level):
            log(self, level, msg, *args, **kwargs)

    connection.SSHConnection.send_packet = send_packet_without_aead_ignore  # type: ignore[method-assign]
    packet.SSHPacketLogger._log_packet = log_packet_when_enabled  # type: ignore[method-assign,assignment]
    ssh_logging.SSHLogger.log = log_when_enabled  # type: ignore[method-assign]
    _applied = True
