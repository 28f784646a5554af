"""The same-origin rules on their own: which origins are this server's, and what proves one."""

import pytest
from pydantic import ValidationError
from starlette.datastructures import Headers

from backend.browser import cross_origin_refusal, origin_of, own_origin, trusted_origins
from backend.config import Settings


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("http://127.0.0.1:8000/wall?x=1", "http://127.0.0.1:8000"),
        ("HTTPS://Posko.Example:443/", "https://posko.example"),
        ("http://posko.example:80", "http://posko.example"),
        ("wss://posko.example/ws/live", "https://posko.example"),
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("null", None),
        ("file:///etc/passwd", None),
        ("javascript:alert(1)", None),
        ("http://host:99999", None),
        ("", None),
    ],
)
def test_origin_of_normalises_scheme_host_and_default_port(url: str, origin: str | None) -> None:
    assert origin_of(url) == origin


def _settings(**kw: object) -> Settings:
    return Settings(_env_file=None, **kw)  # type: ignore[call-arg, arg-type]


def test_the_public_url_and_trusted_origins_are_this_servers() -> None:
    s = _settings(
        public_url="https://posko.polres.example/posko/",
        trusted_origins=["https://10.20.0.5", "http://posko.local:8080"],
    )
    assert trusted_origins(s) == {
        "https://posko.polres.example",
        "https://10.20.0.5",
        "http://posko.local:8080",
    }
    assert trusted_origins(_settings()) == frozenset()


@pytest.mark.parametrize("bad", ["posko.example", "ftp://posko.example", "https://"])
def test_a_trusted_origin_that_is_not_an_http_origin_is_refused_at_start(bad: str) -> None:
    with pytest.raises(ValidationError, match="POSKO_TRUSTED_ORIGINS"):
        _settings(trusted_origins=[bad])


def test_own_origin_is_the_scheme_uvicorn_saw_and_the_host_header() -> None:
    headers = Headers({"host": "posko.example"})
    assert own_origin({"scheme": "https"}, headers) == "https://posko.example"
    assert own_origin({"scheme": "ws"}, Headers({"host": "10.0.0.5:8000"})) == (
        "http://10.0.0.5:8000"
    )
    assert own_origin({"scheme": "http"}, Headers({})) is None


ALLOWED = frozenset({"http://127.0.0.1:8000", "https://posko.example"})


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        ({"origin": "http://127.0.0.1:8000"}, False),
        ({"origin": "https://posko.example"}, False),
        ({"origin": "https://posko.example:443"}, False),
        ({"origin": "http://127.0.0.1:8001"}, True),
        ({"origin": "http://peta.posko.example"}, True),
        ({"origin": "http://posko.example"}, True),
        ({"origin": "null"}, True),
        ({"origin": "null", "sec-fetch-site": "same-origin"}, False),
        ({"origin": "null", "referer": "https://evil.example/"}, True),
        ({"referer": "https://posko.example/wall"}, False),
        ({"referer": "https://evil.example/?https://posko.example"}, True),
        ({"referer": "not a url"}, True),
        ({"sec-fetch-site": "same-origin"}, False),
        ({"sec-fetch-site": "same-site"}, True),
        ({}, True),
        # Origin decides when present: a same-origin flag does not overrule a foreign one.
        ({"origin": "http://127.0.0.1:8001", "sec-fetch-site": "same-origin"}, True),
    ],
)
def test_what_proves_a_request_comes_from_our_pages(headers: dict[str, str], refused: bool) -> None:
    assert (cross_origin_refusal(Headers(headers), ALLOWED, proof_needed=True) is not None) is (
        refused
    )


def test_a_sign_in_without_browser_headers_is_a_programs_and_passes() -> None:
    assert cross_origin_refusal(Headers({}), ALLOWED, proof_needed=False) is None
    refusal = cross_origin_refusal(
        Headers({"origin": "http://127.0.0.1:8001"}), ALLOWED, proof_needed=False
    )
    assert refusal is not None and refusal.reason == "request from another origin"
