"""The built-in SFTP receiver: where appliances push their files.

Cisco VOS appliances cannot serve files; they can only *push* them with their built-in SFTP
client (`file get activelog ...` asks for an SFTP server, user, password and directory). This
package is that SFTP server, run inside the toolkit for the duration of a run:

* one `Receiver` listens on one port with a host key generated for it alone;
* `add_account()` makes a throw-away user (random name and password) per appliance, jailed in
  its own directory: SFTP "/" is that directory, like OpenSSH's ChrootDirectory, and nothing
  outside it can be read, written, listed, stat'ed or linked to;
* an upload is written to a hidden temporary name and only renamed to its real name when the
  client closes the handle, so a half-transferred file never looks finished; every finished
  file is recorded in a manifest with its size and sha256, computed while the bytes arrive.

Limits keep a hostile neighbour on the network, or one account, from starving the others (each is
a `Receiver` argument and a key of the inventory's `receiver:` section; `None` lifts it):

* `max_unauthenticated` (128, and never fewer than the accounts): connections not yet logged
  in; more are closed as they arrive, before the version exchange, so no key-exchange work is
  done for them;
* `login_grace_time` (30 s): a connection not logged in by then is closed;
* `max_auth_attempts` (3): password attempts per connection, then it is disconnected;
* `max_auth_failures_per_address` (20) within `auth_failure_window` (60 s): once an address has
  failed that often, its new connections are closed as they arrive until the window slides past;
* `max_connections_per_account` (8): logins of one account at once (one per push is the norm);
* `max_handles_per_account` (32): open file and directory handles of one account (each file
  handle holds a descriptor of this process), so one account cannot exhaust the descriptors;
* `max_files_per_account` (none): files *and directories* an account may create;
* `max_bytes_per_account` (none): bytes an account may store; a write's reach counts, so a write
  at an offset beyond what is left of the quota is refused;
* `max_write_gap` (64 MiB): a file's size may run at most this far ahead of the bytes written to
  it, so a write far beyond the end of a file cannot make a giant sparse file.

The parts, each used only through what its module names without an underscore:
`server` (`Receiver`: listening, accounts, results), `session` (one SSH connection: admission,
password check), `jail` (the SFTP server confined to an account's directory), `uploads` (temporary
files, hashing, commit and abort), `accounts` and `manifest`. The algorithms offered are
`ops.sshalgorithms`' policy.
"""

from ops.receiver.accounts import Account
from ops.receiver.manifest import ManifestEntry
from ops.receiver.server import DEFAULT_LIMITS, Receiver, ReceiverError

__all__ = ["Account", "ManifestEntry", "Receiver", "ReceiverError", "DEFAULT_LIMITS"]
