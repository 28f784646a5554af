"""Pages outside Dash: sign-in (form and token link), the admin page and its refusal.

Plain HTML with a little script: they must work before anyone is signed in (the form) or do
nothing but call the API (admin), so they carry no Dash app and no live picture.
"""

import html
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from backend.auth.service import AuthError
from backend.browser import set_session_cookie
from backend.deps import RuntimeDep, authenticate, record_refusal
from dashboard.exports import export_section
from dashboard.i18n import LANGS, Lang, lang_of, t
from schemas.enums import CredentialKind, Role
from schemas.paths import local_path

COOKIE_MAX_AGE = 10 * 365 * 24 * 3600  # the credential decides expiry; the wall never logs out
HERE = Path(__file__).resolve().parent
# Their scripts: kept out of Dash's automatic assets (app.py), inlined into the pages here.
SCRIPTS = HERE / "assets" / "plain"
ADMIN_JS = SCRIPTS / "admin.js"
LOGIN_JS = SCRIPTS / "login.js"

router = APIRouter(include_in_schema=False)

_STYLE = """
body{background:#0b1220;color:#e6edf7;font:16px Inter,'Segoe UI',Roboto,Arial,sans-serif;margin:0}
.card{max-width:380px;margin:12vh auto;padding:28px;background:#111a2e;border:1px solid #24324d;
border-radius:12px}
h1{margin:0 0 4px;font-size:26px}.sub{margin:0 0 18px;color:#8a9bb8}
label{display:flex;flex-direction:column;gap:4px;margin-bottom:12px;color:#8a9bb8;font-weight:600}
input{padding:9px 10px;border-radius:6px;border:1px solid #24324d;background:#16223b;color:#e6edf7;
font:inherit}
button{width:100%;padding:10px;border-radius:6px;border:1px solid #3b82f6;background:#1d4ed8;
color:#fff;font-weight:700;font-size:16px;cursor:pointer}
.error{min-height:1.4em;margin:0 0 10px;color:#fca5a5;font-weight:700}
.hint{color:#8a9bb8;font-size:14px}.lang a{color:#93c5fd;margin-right:10px}
a{color:#93c5fd}
"""


def _json_script(element_id: str, data: object) -> str:
    # "</" must not end the script element early.
    body = orjson.dumps(data).decode().replace("</", "<\\/")
    return f'<script id="{element_id}" type="application/json">{body}</script>'


def _shell(title: str, lang: Lang, body: str, *, head: str = "") -> str:
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style>{head}</head>"
        f"<body>{body}</body></html>"
    )


def safe_next(target: str | None) -> str:
    """Only local paths: a link must not bounce a signed-in browser to another site."""
    return local_path(target) or "/"


def login_form(lang: Lang, target: str) -> str:
    """The username/password form; it posts to the login API and goes on to `target`."""
    nxt = html.escape(safe_next(target))
    words = {
        k: t(f"login_{k}", lang) for k in ("wrong", "waiting", "throttled", "missing", "failed")
    }
    langs = " ".join(
        f'<a href="/login?lang={lg}&amp;next={quote(safe_next(target), safe="")}">{lg.upper()}</a>'
        for lg in LANGS
    )
    body = f"""<main class="card">
<h1>Posko</h1><p class="sub">{t("login_title", lang)}</p>
<form id="login-form" method="post" action="/api/v1/auth/login">
<input type="hidden" name="next" value="{nxt}">
<label>{t("login_username", lang)}<input name="username" autocomplete="username" required
 autofocus></label>
<label>{t("login_password", lang)}<input name="password" type="password"
 autocomplete="current-password" required></label>
<div id="login-error" class="error" role="alert"></div>
<button type="submit">{t("login_submit", lang)}</button>
</form>
<p class="hint">{t("login_kiosk", lang)}</p>
<nav class="lang">{langs}</nav>
</main>{_json_script("login-words", words)}<script>{LOGIN_JS.read_text()}</script>"""
    return _shell(t("login_title", lang), lang, body)


def _message(lang: Lang, title_key: str, text: str) -> str:
    body = f"""<main class="card"><h1>Posko</h1><p class="sub">{t(title_key, lang)}</p>
<p id="message">{html.escape(text)}</p>
<p><a href="/login?lang={lang}">{t("login_title", lang)}</a></p></main>"""
    return _shell(t(title_key, lang), lang, body)


@router.get(
    "/login",
    response_class=HTMLResponse,
    include_in_schema=True,
    tags=["auth"],
    responses={
        303: {"description": "signed in: the cookie is set, on to `next`"},
        200: {"description": "no token: the username and password form (HTML page)"},
        401: {"description": "a token that is not valid (HTML page)"},
        403: {"description": "a device token cannot open the dashboard (HTML page)"},
    },
)
def login(
    request: Request,
    rt: RuntimeDep,
    token: Annotated[str | None, Query()] = None,
    next_url: Annotated[str, Query(alias="next")] = "/",
    lang: Annotated[str | None, Query()] = None,
) -> Response:
    """Sign in with a token link (`posko token issue` prints one) or the form; go to `next`."""
    language = lang_of(lang)
    if token is None:
        return HTMLResponse(login_form(language, next_url))
    try:
        principal = rt.resolver.resolve(token, now=rt.clock.now())
    except AuthError as err:
        record_refusal(rt, request, err)
        text = t("link_invalid", language, reason=err.reason)
        return HTMLResponse(_message(language, "link_title", text), 401)
    if not principal.can_read:
        text = t("link_device", language)
        return HTMLResponse(_message(language, "link_title", text), 403)
    # The token leaves the address bar here: the browser keeps it only in the cookie, and
    # goes on to a URL without it (the access log redacts the one request that carried it).
    response = RedirectResponse(safe_next(next_url), status_code=303)
    set_session_cookie(response, token, max_age=COOKIE_MAX_AGE, conn=request, settings=rt.settings)
    return response


def _forbidden(lang: Lang, who: str, role: str) -> str:
    body = f"""<main class="card"><h1>{t("forbidden_title", lang)}</h1>
<p id="forbidden">{html.escape(t("forbidden_admin", lang, who=who, role=role))}</p>
<p><a href="/?lang={lang}">{t("back", lang)}</a></p></main>"""
    return _shell(t("forbidden_title", lang), lang, body)


ADMIN_WORDS = (
    "adm_users",
    "adm_new_user",
    "login_username",
    "login_password",
    "adm_full_name",
    "adm_role",
    "adm_area",
    "adm_active",
    "adm_locked",
    "adm_last_login",
    "adm_create",
    "adm_devices",
    "adm_nrp",
    "adm_name",
    "adm_issue",
    "adm_kiosks",
    "adm_next",
    "adm_prefix",
    "adm_created",
    "adm_revoke",
    "adm_revoked",
    "adm_unlock",
    "adm_unlocked",
    "adm_disable",
    "adm_enable",
    "adm_once",
    "adm_none",
    "adm_saved",
    "adm_enrol",
    "adm_enrol_hint",
    "adm_enrol_polsek",
    "adm_enrol_all",
    "adm_enrol_nrp",
    "adm_enrol_hours",
    "adm_enrol_print",
    "adm_enrol_made",
    "adm_senders",
    "adm_senders_hint",
    "adm_sender_kind",
    "adm_sender_phone",
    "adm_sender_telegram",
    "adm_sender_address",
    "adm_sender_link",
    "adm_sender_show",
    "adm_sender_by",
    "adm_unit",
    "adm_state",
    "adm_expires",
    "adm_state_waiting",
    "adm_state_used",
    "adm_state_expired",
    "adm_state_revoked",
    "adm_ppk",
    "adm_ppk_hint",
    "adm_ppk_kecamatan",
    "adm_ppk_name",
    "adm_ppk_lat",
    "adm_ppk_lon",
    "adm_ppk_default",
    "adm_ppk_set",
    "adm_ppk_save",
    "refused",
)


def _admin(lang: Lang, who: str, area: str | None, enrol_hours: float) -> str:
    words: dict[str, object] = {k: t(k, lang) for k in ADMIN_WORDS}
    words["roles"] = [r.value for r in Role]
    words["enrol_hours"] = enrol_hours  # the server's default, shown as the field's hint
    # What the API answers is already cut to this area; the page only says which it is.
    scope = t("adm_scope", lang, area=area) if area else t("adm_scope_national", lang)
    head = '<link rel="stylesheet" href="/assets/posko.css">'
    body = f"""<div class="posko admin" lang="{lang}">
<header class="admin-head"><h1>{t("adm_title", lang)}</h1>
<span class="who">{html.escape(who)}</span>
<span class="scope" id="adm-scope">{html.escape(scope)}</span>
<a href="/?lang={lang}">{t("back", lang)}</a>
<form action="/logout" method="post"><button class="button">{t("logout", lang)}</button></form>
</header>
<div id="admin-toast" class="admin-msg" role="status"></div>
<section class="panel" id="adm-users"></section>
<section class="panel" id="adm-devices"></section>
<section class="panel" id="adm-kiosks"></section>
<section class="panel" id="adm-enrol"></section>
<section class="panel" id="adm-senders"></section>
<section class="panel" id="adm-ppk"></section>
{export_section(lang)}
</div>{_json_script("admin-words", words)}<script>{ADMIN_JS.read_text()}</script>"""
    return _shell(t("adm_title", lang), lang, body, head=head)


@router.get("/admin", response_class=HTMLResponse)
def admin_page(
    request: Request, rt: RuntimeDep, lang: Annotated[str | None, Query()] = None
) -> Response:
    """Users, device tokens, kiosk links and phone enrolment of the admin's area (others: 403)."""
    language = lang_of(lang)
    try:
        principal = authenticate(rt, request, allow_query=False)
    except AuthError:
        return RedirectResponse(f"/login?next={quote(str(request.url.path), safe='')}", 303)
    if principal.kind is CredentialKind.KIOSK or not principal.has_role(Role.ADMIN):
        role = principal.role.value if principal.role else principal.kind.value
        return HTMLResponse(_forbidden(language, principal.name, role), status_code=403)
    return HTMLResponse(
        _admin(language, principal.name, principal.area_code, rt.settings.enrolment_hours)
    )
