"""Secrets never reach a log line: credentials in URLs are replaced before anything is written.

Kiosk links (`/login?token=...`) and websockets (`/ws/live?token=...`) carry credentials in
their URL, and uvicorn's access log and its websocket lines print the whole URL; the phone app
offers its token as a websocket subprotocol (`posko.bearer.<token>`), which uvicorn's debug and
trace lines print with the request's headers and ASGI scope. Log files are
read, copied and kept far longer than a credential deserves, so every handler that `posko serve`
configures carries RedactSecrets.
"""

import logging
import re
from typing import Any
from urllib.parse import unquote

REDACTED = "[redacted]"
# Query parameters whose value is a secret, compared after percent-decoding the name.
SECRET_PARAMS = frozenset(
    {"token", "access_token", "password", "secret", "api_key", "key", "signature", "sig"}
)
_PARAM = re.compile(r"(?P<sep>[?&;])(?P<name>[^=&;?#\s\"]+)=(?P<value>[^&;#\s\"]*)")
# A Posko credential wherever it appears (a path, another parameter, a message).
# Enrolment codes (pke_) too: they are one-time, but good until used.
_TOKEN = re.compile(r"pk[dpkse]_[A-Za-z0-9_\-]{8,}")
# The phone app's websocket subprotocol `posko.bearer.<token>`, whatever the token looks like.
_SUBPROTOCOL = re.compile(r"(?P<name>posko\.bearer\.)[^\s,;'\"\]\\]+")
_PLAIN = (str, int, float, bool, type(None))


def _param(match: re.Match[str]) -> str:
    if unquote(match["name"]).strip().lower() not in SECRET_PARAMS:
        return match[0]
    return f"{match['sep']}{match['name']}={REDACTED}"


def redact(text: str) -> str:
    """`text` with secret query values and Posko tokens replaced by [redacted]."""
    if "=" not in text and "pk" not in text and "posko.bearer." not in text:
        return text  # the common line: nothing to look for
    text = _SUBPROTOCOL.sub(rf"\g<name>{REDACTED}", text)
    return _TOKEN.sub(REDACTED, _PARAM.sub(_param, text))


def _redact_arg(arg: Any) -> Any:
    return redact(arg) if isinstance(arg, str) else arg


class RedactSecrets(logging.Filter):
    """Rewrite a record's message and arguments so that no secret is formatted into the line."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact in place (uvicorn's access formatter reads the arguments one by one); keep it."""
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_arg(a) for a in record.args)
            rest = record.args
        elif isinstance(record.args, dict):
            record.args = {k: _redact_arg(v) for k, v in record.args.items()}
            rest = tuple(record.args.values())
        else:
            return True
        if all(isinstance(a, _PLAIN) for a in rest):
            return True
        # An argument that is a dict, list or bytes (uvicorn's trace lines print whole ASGI
        # scopes: headers, subprotocols, query strings) is only text once formatted: format the
        # line here and redact that.
        try:
            line = record.getMessage()
        except (TypeError, ValueError):
            return True  # a malformed record: logging reports it, with nothing formatted
        if (clean := redact(line)) != line:
            record.msg, record.args = clean, None
        return True
