"""/laporan: the commander's situation reports — list, preview, remarks and plan, sign-off.

The skeleton carries no data. One callback reads and acts (Dash lets one callback own the
list, the form and the preview, so no action can race another's redraw): in a worker thread,
with the browser's own credential, through the same service functions as the API, which check
nothing the page could skip — the role is checked here, the area by `_load`, the frozen state
by the service's compare-and-set, and every step is audited there.
"""

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import dash
from dash import Input, Output, State, callback_context, dcc, html
from sqlmodel import Session

from backend.areas import AreaError, contains, narrow
from backend.audit.service import actor_of
from backend.auth.service import Principal
from backend.deps import SESSION_COOKIE
from backend.reports.models import SituationReport
from backend.reports.scheduler import default_period
from backend.reports.service import (
    ReportConflictError,
    create_draft,
    edit,
    get,
    list_reports,
    sign,
)
from backend.reports.views import wake_senders
from backend.runtime import Runtime
from dashboard import ids
from dashboard.data import principal_of
from dashboard.i18n import Lang, clock_text, lang_of, t, wib
from dashboard.serving import PageCallbacks, Serving
from schemas.enums import CredentialKind, Role
from schemas.reports import ReportKind, ReportStatus

dash.register_page(__name__, path="/laporan", name="laporan", title=t("r_title", "id"))
callbacks = PageCallbacks()


def href(lang: Lang, area: str | None) -> str:
    """This page, in a language, narrowed to an area."""
    query = ({"area": area} if area else {}) | ({"lang": lang} if lang != "id" else {})
    return "/laporan" + (f"?{urlencode(query)}" if query else "")


def layout(lang: str | None = None, area: str | None = None, **_: object) -> html.Div:
    """The page's skeleton; the reports arrive by callback."""
    lg = lang_of(lang)
    field = "lap-field"
    return html.Div(
        id=ids.LAP_ROOT,
        className="posko laporan",
        lang=lg,
        children=[
            dcc.Store(id=ids.LAP_PAGE, data={"lang": lg, "area": area or None}),
            dcc.Store(id=ids.LAP_SHOWN),
            html.Header(
                className="head",
                children=[
                    html.Div(
                        className="head-title",
                        children=[
                            html.Div(t("title", lg), className="title"),
                            html.Div(t("r_title", lg), className="subtitle"),
                        ],
                    ),
                    html.Nav(
                        className="lang",
                        children=[
                            html.A(
                                "ID", href=href("id", area), className="on" if lg == "id" else ""
                            ),
                            html.A(
                                "EN", href=href("en", area), className="on" if lg == "en" else ""
                            ),
                        ],
                    ),
                    html.Nav(
                        className="account",
                        children=[html.A(t("r_back", lg), href="/", className="button")],
                    ),
                ],
            ),
            html.Div(
                className="lap-body",
                children=[
                    html.Aside(
                        className="lap-side panel",
                        children=[
                            html.H2(t("r_list", lg), className="panel-title"),
                            html.Button(t("r_draft_now", lg), id=ids.LAP_DRAFT, className="button"),
                            dcc.RadioItems(id=ids.LAP_PICK, options=[], className="lap-pick"),
                        ],
                    ),
                    html.Section(
                        className="lap-main",
                        children=[
                            html.Div(id=ids.LAP_STATUS, className="lap-status"),
                            html.Div(id=ids.LAP_LINKS, className="lap-links"),
                            html.Iframe(id=ids.LAP_PREVIEW, className="lap-preview"),
                        ],
                    ),
                    html.Aside(
                        className="lap-form panel",
                        children=[
                            html.Label(t("r_remarks", lg), htmlFor=ids.LAP_REMARKS),
                            dcc.Textarea(id=ids.LAP_REMARKS, className=field, value=""),
                            html.Label(t("r_plan", lg), htmlFor=ids.LAP_PLAN),
                            dcc.Textarea(id=ids.LAP_PLAN, className=field, value=""),
                            html.Button(t("r_save", lg), id=ids.LAP_SAVE, className="button"),
                            html.H2(t("r_sign_title", lg), className="panel-title"),
                            html.Label(t("r_name", lg), htmlFor=ids.LAP_NAME),
                            dcc.Input(id=ids.LAP_NAME, className=field, value=""),
                            html.Label(t("r_rank", lg), htmlFor=ids.LAP_RANK),
                            dcc.Input(id=ids.LAP_RANK, className=field, value=""),
                            html.Label(t("r_nrp", lg), htmlFor=ids.LAP_NRP),
                            dcc.Input(
                                id=ids.LAP_NRP, className=field, value="", inputMode="numeric"
                            ),
                            html.Button(
                                t("r_sign", lg), id=ids.LAP_SIGN, className="button primary"
                            ),
                            html.Button(t("r_revise", lg), id=ids.LAP_REVISE, className="button"),
                            html.Div(id=ids.LAP_MSG, className="lap-msg", role="status"),
                        ],
                    ),
                ],
            ),
        ],
    )


@dataclass(frozen=True, slots=True)
class _Form:
    remarks: str
    plan: str
    name: str
    rank: str
    nrp: str


class _Refused(Exception):
    """What the page tells the commander instead of acting."""


def _label(r: SituationReport, lang: Lang) -> str:
    start, end = clock_text(r.period_start), clock_text(r.period_end)
    day = wib(r.period_end).strftime("%d-%m")
    return (
        f"{day} {start}-{end} · {t('r_kind_' + r.kind.value, lang)} · v{r.version} · "
        f"{t('r_status_' + r.status.value, lang)}"
    )


def _require(principal: Principal, role: Role) -> None:
    if principal.kind is CredentialKind.KIOSK or not principal.has_role(role):
        raise _Refused("r_forbidden")


def _act(
    rt: Runtime,
    principal: Principal,
    area: str | None,
    trigger: str | None,
    picked: int | None,
    form: _Form,
    seen: int | None,
) -> tuple[int | None, str | None]:
    """Do what the button asked; the report to show afterwards and a message key."""
    now = rt.clock.now()
    actor = actor_of(principal)
    with Session(rt.engine) as s:
        r = get(session=s, report_id=picked) if picked else None
        if r is not None and not contains(principal.area_code, r.area_code):
            r = None
        if trigger == ids.LAP_DRAFT:
            _require(principal, Role.OPERATOR)
            if area is None or len(area) != 5:
                raise _Refused("r_need_area")
            start, end = default_period(ReportKind.ON_DEMAND, now, rt.settings.report_every_min)
            made = create_draft(
                session=s,
                area=area,
                kind=ReportKind.ON_DEMAND,
                period_start=start,
                period_end=end,
                now=now,
                settings=rt.settings,
                actor=actor,
                listening_since=rt.started_at,
            )
            return made.id, "r_drafted"
        if r is None or r.id is None:
            return None, None
        if trigger == ids.LAP_SAVE:
            _require(principal, Role.COMMANDER)
            edit(
                session=s,
                report_id=r.id,
                remarks=form.remarks,
                plan_next=form.plan,
                now=now,
                actor=actor,
                expected_row_version=seen,
            )
            return r.id, "r_saved"
        if trigger == ids.LAP_SIGN:
            _require(principal, Role.COMMANDER)
            nrp = form.nrp.strip()
            if (
                len(form.name.strip()) < 2
                or len(form.rank.strip()) < 2
                or not (nrp.isascii() and nrp.isdigit() and 8 <= len(nrp) <= 18)
            ):
                raise _Refused("r_sign_missing")
            # What is signed is what the commander sees in the form: saved in the same step,
            # and only if the report is still the one his screen showed (`seen`).
            if r.status is ReportStatus.DRAFT and (r.remarks, r.plan_next) != (
                form.remarks,
                form.plan,
            ):
                seen = edit(
                    session=s,
                    report_id=r.id,
                    remarks=form.remarks,
                    plan_next=form.plan,
                    now=now,
                    actor=actor,
                    expected_row_version=seen,
                ).row_version
            sign(
                session=s,
                report_id=r.id,
                name=form.name.strip(),
                rank=form.rank.strip(),
                nrp=nrp,
                now=now,
                actor=actor,
                settings=rt.settings,
                expected_row_version=seen,
            )
            wake_senders(rt)
            return r.id, None
        if trigger == ids.LAP_REVISE:
            _require(principal, Role.COMMANDER)
            if r.status is not ReportStatus.SIGNED:
                return r.id, None
            made = create_draft(
                session=s,
                area=r.area_code,
                kind=r.kind,
                period_start=r.period_start,
                period_end=r.period_end,
                now=now,
                settings=rt.settings,
                actor=actor,
                listening_since=rt.started_at,
            )
            return made.id, "r_drafted"
        return r.id, None


def _view(
    rt: Runtime, principal: Principal, area: str | None, shown: int | None, lang: Lang
) -> tuple[Any, ...]:
    """The list, and the shown report's form, status, links and preview."""
    with Session(rt.engine) as s:
        rows = list_reports(session=s, area_code=area or principal.area_code, limit=200)
        options = [{"label": _label(r, lang), "value": r.id} for r in rows]
        r = next((x for x in rows if x.id == shown), None)
        if r is None and shown is not None:
            r = get(session=s, report_id=shown)
            if r is not None and not contains(principal.area_code, r.area_code):
                r = None
        if r is None and rows:
            r = rows[0]
    if r is None:
        return options, None, "", "", True, True, True, True, t("r_none", lang), [], None, None
    frozen = r.status is ReportStatus.SIGNED
    can_edit = principal.kind is not CredentialKind.KIOSK and principal.has_role(Role.COMMANDER)
    if frozen:
        status = t(
            "r_signed_by",
            lang,
            rank=r.signer_rank,
            name=r.signer_name,
            nrp=r.signer_nrp,
            time=clock_text(r.signed_at) if r.signed_at else "",
            sha=r.content_sha256,
        )
    else:
        status = _label(r, lang)
    base = f"/api/v1/reports/{r.id}"
    links = [
        html.A(
            kind.upper(),
            href=f"{base}.{kind}",
            target="_blank",
            className="button",
            id=f"lap-link-{kind}",
        )
        for kind in ("html", "pdf", "csv")
    ]
    return (
        options,
        r.id,
        r.remarks,
        r.plan_next,
        frozen or not can_edit,
        frozen or not can_edit,
        frozen or not can_edit,
        not frozen or not can_edit,
        status,
        links,
        f"{base}.html?v={r.row_version}",
        {"id": r.id, "row_version": r.row_version},
    )


@callbacks.server(
    Output(ids.LAP_PICK, "options"),
    Output(ids.LAP_PICK, "value"),
    Output(ids.LAP_REMARKS, "value"),
    Output(ids.LAP_PLAN, "value"),
    Output(ids.LAP_REMARKS, "disabled"),
    Output(ids.LAP_PLAN, "disabled"),
    Output(ids.LAP_SIGN, "disabled"),
    Output(ids.LAP_REVISE, "disabled"),
    Output(ids.LAP_STATUS, "children"),
    Output(ids.LAP_LINKS, "children"),
    Output(ids.LAP_PREVIEW, "src"),
    Output(ids.LAP_SHOWN, "data"),
    Output(ids.LAP_MSG, "children"),
    Input(ids.LAP_PAGE, "data"),
    Input(ids.LAP_PICK, "value"),
    Input(ids.LAP_DRAFT, "n_clicks"),
    Input(ids.LAP_SAVE, "n_clicks"),
    Input(ids.LAP_SIGN, "n_clicks"),
    Input(ids.LAP_REVISE, "n_clicks"),
    State(ids.LAP_REMARKS, "value"),
    State(ids.LAP_PLAN, "value"),
    State(ids.LAP_NAME, "value"),
    State(ids.LAP_RANK, "value"),
    State(ids.LAP_NRP, "value"),
    State(ids.LAP_SHOWN, "data"),
    prevent_initial_call=False,
)
async def render_laporan(
    srv: Serving,
    page: dict[str, Any] | None,
    picked: Any,
    _draft: Any,
    _save: Any,
    _sign: Any,
    _revise: Any,
    remarks: str | None,
    plan: str | None,
    name: str | None,
    rank: str | None,
    nrp: str | None,
    shown_data: dict[str, Any] | None,
) -> tuple[Any, ...]:
    """List the reports, act on the button pressed, show one report."""
    lang = lang_of((page or {}).get("lang"))
    wanted = (page or {}).get("area")
    trigger = callback_context.triggered_id
    token = callback_context.cookies.get(SESSION_COOKIE)
    rt = srv.runtime()
    form = _Form(remarks or "", plan or "", name or "", rank or "", nrp or "")
    shown = picked if isinstance(picked, int) else None
    seen = None
    if isinstance(shown_data, dict) and shown_data.get("id") == shown:
        version = shown_data.get("row_version")
        seen = version if isinstance(version, int) else None

    def job() -> tuple[Any, ...]:
        principal = principal_of(rt, token)
        if principal is None:
            raise dash.exceptions.PreventUpdate  # the guard let it in; the credential ended
        area = principal.area_code
        with contextlib.suppress(AreaError):  # outside or malformed: the credential's own
            area = narrow(area, wanted if isinstance(wanted, str) else None)
        message = ""
        show = shown
        try:
            show, key = _act(rt, principal, area, trigger, shown, form, seen)
            message = t(key, lang, id=show) if key else ""
        except _Refused as err:
            message = t(str(err), lang)
        except ReportConflictError as err:
            message = t("r_changed" if err.field == "row_version" else "r_frozen", lang)
        return (*_view(rt, principal, area, show, lang), message)

    result: tuple[Any, ...] = await asyncio.to_thread(job)
    return result
