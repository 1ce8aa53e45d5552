"""Step kinds, one module each; `ACTIONS` maps a playbook key to its implementation."""

from __future__ import annotations

from ops.actions.activelog import ActivelogAction
from ops.actions.base import Action
from ops.actions.cli import CliAction
from ops.actions.finesse import PerformanceAction, SystemInfoAction, UserStateAction
from ops.actions.gws import MeAction, VersionAction, VoiceAction
from ops.actions.network_status import NetworkStatusAction
from ops.actions.rest import RestStepAction
from ops.actions.service import ServiceAction
from ops.actions.ui_password import UIPasswordResetAction
from ops.actions.webproxy import WebproxyCacheClearAction

ACTIONS: dict[str, Action] = {action.name: action for action in (
    ActivelogAction(), CliAction(), NetworkStatusAction(), WebproxyCacheClearAction(), ServiceAction(),
    UIPasswordResetAction(),
)}
# REST steps: any call, Finesse, Genesys Web Services.
ACTIONS.update({action.name: action for action in (
    RestStepAction(), SystemInfoAction(), PerformanceAction(), UserStateAction(),
    VersionAction(), MeAction(), VoiceAction())})
