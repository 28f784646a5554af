"""Every component id, as constants: callbacks, layouts, tests and the browser script share them.

The wall and the commander's view have the same parts under different ids, because Dash checks
callbacks against all pages' layouts at once and two pages must not claim one id.
"""

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ViewIds:
    """The ids of the parts both views have."""

    view: str
    page: str  # Store: which view and language (the trigger for the first render)
    refresh: str  # Store: bumped by the browser script after a resync, to re-render figures
    config: str  # Store: colours, words and ids for the browser script
    officers: str  # Store: officers with when they were last heard from
    sink: str  # hidden target of clientside callbacks that only call the browser script
    root: str
    banner: str
    clock: str
    date: str
    freshness: str
    exercise: str
    map: str
    timeline: str
    progress: str
    log: str
    alerts: str  # the exceptions feed: open alerts, written by the browser script
    platform: str  # the server's own health beside the alerts, written by the browser script

    def for_browser(self) -> dict[str, Any]:
        """The ids as a plain dict for the browser script's configuration."""
        return asdict(self)


WALL = ViewIds(
    view="wall",
    page="wall-page",
    refresh="wall-refresh",
    config="wall-config",
    officers="wall-officers",
    sink="wall-sink",
    root="wall-root",
    banner="wall-banner",
    clock="wall-clock",
    date="wall-date",
    freshness="wall-freshness",
    exercise="wall-exercise",
    map="wall-map",
    timeline="wall-timeline",
    progress="wall-progress",
    log="wall-log",
    alerts="wall-alerts",
    platform="wall-platform",
)

COMMANDER = ViewIds(
    view="commander",
    page="cmd-page",
    refresh="cmd-refresh",
    config="cmd-config",
    officers="cmd-officers",
    sink="cmd-sink",
    root="cmd-root",
    banner="cmd-banner",
    clock="cmd-clock",
    date="cmd-date",
    freshness="cmd-freshness",
    exercise="cmd-exercise",
    map="cmd-map",
    timeline="cmd-timeline",
    progress="cmd-progress",
    log="cmd-log",
    alerts="cmd-alerts",
    platform="cmd-platform",
)

# Counters are pattern-matching ids: {"type": COUNTER, "view": ..., "key": ...}.
COUNTER = "counter"

# Commander's view only.
CMD_KECAMATAN = "cmd-kecamatan"
CMD_DESA = "cmd-desa"
CMD_PHASE = "cmd-phase"
CMD_SITUATION = "cmd-situation"
CMD_RISK = "cmd-risk"
CMD_COLOUR = "cmd-colour"
CMD_SEARCH = "cmd-search"
CMD_SEARCH_GO = "cmd-search-go"
CMD_SEARCH_MSG = "cmd-search-msg"
CMD_LANG_ID = "cmd-lang-id"
CMD_LANG_EN = "cmd-lang-en"
CMD_SELECTED = "cmd-selected"  # Store: the TPS code open in the side panel
CMD_DETAIL = "cmd-detail"
CMD_INCIDENTS = "cmd-incidents"
CMD_SILENT = "cmd-silent"
CMD_PANELS_TICK = "cmd-panels-tick"  # Store: bumped by the browser when panels should re-read
CMD_MINUTE = "cmd-minute"  # Store: bumped by the browser once a minute (ages, silences, the day)
CMD_DAY = "cmd-day"  # phases over the day for the filtered TPS
CMD_MATCHES = "cmd-matches"
CMD_ADMIN_LINK = "cmd-admin-link"  # shown by the browser script to admins only
CMD_LOGOUT = "cmd-logout"
# Officers on the map (dashboard/positions.py).
CMD_OFFICERS_SHOW = "cmd-officers-show"
CMD_OFFICERS_TICK = "cmd-officers-tick"
CMD_OFFICERS_INFO = "cmd-officers-info"
CMD_TRAIL_OFFICER = "cmd-trail-officer"
CMD_EXPORT = "cmd-export"  # the "Unduh" menu (dashboard/exports.py)
WALL_TRACKED = "wall-tracked"
WALL_TRACKED_TICK = "wall-tracked-tick"
# The chain of custody of the boxes (dashboard/custody.py).
CMD_CUSTODY = "cmd-custody"  # the selected TPS's custody timeline
CMD_CUSTODY_TICK = "cmd-custody-tick"
WALL_CUSTODY = "wall-custody"  # sealed / on the road / received per kecamatan
WALL_CUSTODY_TICK = "wall-custody-tick"

# The national rollup page (/nasional).
NAT_PAGE = "nat-page"  # Store: language and the area asked for (from the query string)
NAT_TICK = "nat-tick"  # Interval: re-read the rollup
NAT_DIGEST = "nat-digest"  # Store: fingerprint of the numbers shown (unchanged: nothing sent)
NAT_ROOT = "nat-root"
NAT_CRUMBS = "nat-crumbs"
NAT_NOTICE = "nat-notice"
NAT_TOTALS = "nat-totals"
NAT_TABLE = "nat-table"
NAT_UPDATED = "nat-updated"
NAT_LANG_ID = "nat-lang-id"
NAT_LANG_EN = "nat-lang-en"


def counter_id(view: str, key: str) -> dict[str, str]:
    """The id of one counter of a view."""
    return {"type": COUNTER, "view": view, "key": key}


# /laporan: the commander's situation reports (dashboard/pages/laporan.py).
CMD_REPORTS_LINK = "cmd-reports-link"
LAP_PAGE = "lap-page"  # Store: language and area from the query string
LAP_ROOT = "lap-root"
LAP_PICK = "lap-pick"  # RadioItems: the reports, newest period first
LAP_SHOWN = "lap-shown"  # Store: the report shown and the row_version the form was filled from
LAP_DRAFT = "lap-draft"  # button: draft one now
LAP_STATUS = "lap-status"
LAP_PREVIEW = "lap-preview"  # iframe of the report's HTML
LAP_LINKS = "lap-links"  # HTML / PDF / CSV
LAP_REMARKS = "lap-remarks"
LAP_PLAN = "lap-plan"
LAP_SAVE = "lap-save"
LAP_NAME = "lap-name"
LAP_RANK = "lap-rank"
LAP_NRP = "lap-nrp"
LAP_SIGN = "lap-sign"
LAP_REVISE = "lap-revise"
LAP_MSG = "lap-msg"
