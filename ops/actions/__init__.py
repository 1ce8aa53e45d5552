"""Step kinds, one module each; `ACTIONS` maps a playbook key to its implementation.

Every module of this package is imported, and each step kind registers itself with its `name`
(ops.actions.base.Action): adding a step kind is adding its module, nothing here.
"""

from __future__ import annotations

import importlib
import pkgutil

from ops.actions.base import REGISTRY, Action

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

ACTIONS: dict[str, Action] = {name: kind() for name, kind in sorted(REGISTRY.items())}
