"""Server-rendered panels of the commander's view: one TPS, incidents, silent officers."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from dash import html

from dashboard import theme
from dashboard.figures import GraceTable, marker_state, phase_key
from dashboard.i18n import (
    Lang,
    ago_text,
    category_name,
    clock_text,
    phase_name,
    risk_name,
    situation_name,
    t,
)
from schemas.live import TimelineEvent, TpsTimeline, TpsView
from schemas.registry import OfficerPublic


def _seen(at: datetime | None, now: datetime, lang: Lang) -> str:
    if at is None:
        return t("h_never", lang)
    return f"{clock_text(at)} {t('wib', lang)} ({ago_text((now - at).total_seconds(), lang)})"


def _chip(text: str, colour: str) -> html.Span:
    return html.Span(text, className="chip", style={"--chip": colour})


def tps_detail(detail: TpsTimeline, *, now: datetime, grace: GraceTable, lang: Lang) -> list[Any]:
    """A TPS's facts, state and every event, newest first."""
    v = detail.tps
    state = marker_state(v, now, grace)
    facts = [
        (t("h_desa", lang), f"{v.desa} ({v.desa_code})"),
        (t("h_kecamatan", lang), f"{v.kecamatan} ({v.kecamatan_code})"),
        (t("h_risk", lang), risk_name(v.risk.value, lang)),
        (t("h_voters", lang), f"{v.voters:,}".replace(",", ".")),
        (t("h_officers", lang), ", ".join(v.officers) or "—"),
        (t("h_seen", lang), _seen(v.last_seen_at, now, lang)),
        (t("h_by", lang), v.last_officer or "—"),
    ]
    if v.corrected_at is not None:
        facts.append((t("h_corrected", lang), _seen(v.corrected_at, now, lang)))
    events = [_event(e, lang) for e in detail.events]
    return [
        html.Div(
            className="detail-head",
            children=[
                html.Div(f"{v.name}", className="detail-name"),
                html.Div(v.code, className="detail-code"),
                html.Div(
                    className="chips",
                    children=[
                        _chip(
                            phase_name(v.phase.value if v.phase else None, lang),
                            theme.PHASE_COLOURS[phase_key(v)],
                        ),
                        _chip(situation_name(state, lang), theme.SITUATION_COLOURS[state]),
                    ],
                ),
            ],
        ),
        *_claim(v, lang),
        html.Dl(
            className="facts",
            children=[x for k, val in facts for x in (html.Dt(k), html.Dd(val))],
        ),
        _tps_actions(v, lang),
        html.H3(t("events", lang), className="sub-title"),
        html.Ol(className="events", children=events) if events else html.P(t("no_events", lang)),
    ]


def _act(act: str, code: str, label: str, **data: str) -> html.Button:
    """A commander's action button; assets/live.js sends it to the API (hidden for others)."""
    attrs: dict[str, Any] = {"data-act": act, "data-kind": "tps", "data-id": code}
    attrs.update({f"data-{k}": v for k, v in data.items()})  # Dash takes data-* as keywords
    return html.Button(label, className=f"act act-{act} commander-only", **attrs)


def _claim(v: TpsView, lang: Lang) -> list[Any]:
    """A later phase claimed by an officer not assigned here, waiting for confirmation."""
    if v.claimed_phase is None:
        return []
    when = f"{clock_text(v.claimed_at)} {t('wib', lang)}" if v.claimed_at else "—"
    text = t(
        "claim_text",
        lang,
        phase=phase_name(v.claimed_phase.value, lang),
        nrp=v.claimed_by or "—",
        time=when,
    )
    return [
        html.Div(
            className="claim",
            children=[
                html.B(t("h_claim", lang)),
                html.Span(f" {text} "),
                _act("confirm", v.code, t("a_confirm", lang), phase=v.claimed_phase.value),
            ],
        )
    ]


def _tps_actions(v: TpsView, lang: Lang) -> html.Div:
    return html.Div(
        className="actions tps-actions",
        children=[_act("correct", v.code, t("a_correct", lang))],
    )


def _event(e: TimelineEvent, lang: Lang) -> html.Li:
    when = f"{clock_text(e.device_time, seconds=True)} {t('wib', lang)}"
    if e.kind == "incident":
        sev = e.severity or 1
        what: list[Any] = [
            _chip(
                f"{t('sev', lang, n=sev)} {category_name(e.category or 'lainnya', lang)}",
                theme.SEVERITY_COLOURS[sev],
            ),
        ]
    else:
        phase = e.phase.value if e.phase else None
        situation = e.situation.value if e.situation else None
        what = [
            _chip(phase_name(phase, lang), theme.PHASE_COLOURS[phase or theme.NOT_REPORTED]),
            _chip(
                situation_name(situation, lang),
                theme.SITUATION_COLOURS[situation or theme.NOT_REPORTED],
            ),
        ]
    extra = []
    if e.note:
        extra.append(html.Div(e.note, className="note"))
    if e.flags:
        extra.append(html.Div(f"{t('flags', lang)}: {', '.join(e.flags)}", className="flags"))
    return html.Li(
        className=f"event event-{e.kind}",
        children=[
            html.Span(when, className="when"),
            *what,
            html.Span(f"NRP {e.officer}", className="who"),
            *extra,
        ],
    )


def silent_list(silent: Sequence[tuple[OfficerPublic, float | None]], *, lang: Lang) -> list[Any]:
    """Officers without a report for more than 30 minutes, longest silence first."""
    if not silent:
        return [html.P(t("no_silent", lang), className="empty")]
    return [
        html.Ol(
            className="silent-list",
            children=[
                html.Li(
                    children=[
                        html.B(f"NRP {o.nrp}"),
                        f" {o.rank} {o.name} · {o.unit} · ",
                        html.Span(
                            t("h_never", lang) if secs is None else ago_text(secs, lang),
                            className="when",
                        ),
                        html.Div(
                            ", ".join(o.tps[:4]) + (" …" if len(o.tps) > 4 else ""),
                            className="where",
                        ),
                    ]
                )
                for o, secs in silent[:60]
            ],
        )
    ]
