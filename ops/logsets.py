"""Named log sets, as RTMT's Trace & Log Central offers services instead of paths.

`activelog: {set: finesse-webservices}` pulls every path of the set. Paths are below activelog
and follow the VOS file-spec rules (a glob in the last part; `recurs` descends directories).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LogSet:
    product: str
    description: str
    paths: tuple[tuple[str, bool], ...]  # (file-spec, recurs)


LOG_SETS: dict[str, LogSet] = {
    "finesse-desktop": LogSet("Finesse", "all Finesse desktop logs", (("desktop/logs/*", True),)),
    "finesse-webservices": LogSet("Finesse", "Finesse web services (the desktop's server side)",
                                  (("desktop/logs/webservices/*", False),)),
    "finesse-openfire": LogSet("Finesse", "Cisco Finesse Notification Service (Openfire, XMPP)",
                               (("desktop/logs/openfire/*", False),)),
    "finesse-realm": LogSet("Finesse", "Finesse realm (sign-in and authentication)",
                            (("desktop/logs/realm/*", False),)),
    "finesse-clientlogs": LogSet("Finesse", "logs agents sent from their desktops (Send Error Report)",
                                 (("desktop/logs/clientlogs/*", False),)),
    "finesse-tomcat": LogSet("Finesse", "Cisco Finesse Tomcat and Cisco Tomcat", (("tomcat/logs/*", True),)),
    "cucm-callmanager": LogSet("CUCM", "Cisco CallManager SDL traces", (("cm/trace/ccm/sdl/*", False),)),
    "cucm-cti": LogSet("CUCM", "Cisco CTIManager SDL traces", (("cm/trace/cti/sdl/*", False),)),
    "uccx-engine": LogSet("UCCX", "Cisco Unified CCX Engine (MIVR) logs", (("uccx/log/MIVR/*", False),)),
    "platform": LogSet("VOS", "platform logs (install, upgrade, CLI)", (("platform/log/*", False),)),
}
