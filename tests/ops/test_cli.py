"""`posko user ...` and `posko kiosk ...` on a database file."""

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from backend.audit.service import list_entries
from backend.auth.service import AuthError, CredentialResolver
from backend.config import Settings
from backend.users.cli import kiosk_app, user_app
from tests.helpers import count
from tests.ops.harness import wib

runner = CliRunner()


def test_user_add_list_disable(engine: Engine, settings: Settings) -> None:
    url = ["--database-url", settings.database_url]
    add = [
        "add",
        "budi",
        "--role",
        "commander",
        "--name",
        "AKP Budi",
        "--password",
        "rahasia-panjang",
    ]
    r = runner.invoke(user_app, add + url)
    assert r.exit_code == 0, r.output
    assert runner.invoke(user_app, add + url).exit_code != 0  # exists
    weak = ["add", "ani", "--role", "viewer", "--name", "Ani", "--password", "pendek"]
    assert runner.invoke(user_app, weak + url).exit_code != 0
    listed = runner.invoke(user_app, ["list", *url]).output
    assert "budi" in listed and "commander" in listed and "[active]" in listed
    r = runner.invoke(user_app, ["disable", "budi", *url])
    assert r.exit_code == 0 and "disabled budi" in r.output
    assert "[disabled]" in runner.invoke(user_app, ["list", *url]).output
    with Session(engine) as s:
        actions = [e.action for e in list_entries(session=s, subject="budi")]
    assert actions == ["user.updated", "user.created"]


def test_kiosk_issue_prints_a_sign_in_url_and_revoke_ends_it(
    engine: Engine, settings: Settings
) -> None:
    url = ["--database-url", settings.database_url]
    r = runner.invoke(kiosk_app, ["issue", "--name", "dinding", *url])
    assert r.exit_code == 0, r.output
    link = next(line for line in r.output.splitlines() if "/login?token=pkk_" in line)
    assert link.endswith("&next=%2Fwall")
    token = link.split("token=")[1].split("&")[0]
    resolver = CredentialResolver(engine, 0)
    assert resolver.resolve(token, now=wib(27, "08:00")).can_read
    cid = r.output.split()[2]
    assert runner.invoke(kiosk_app, ["revoke", cid, *url]).exit_code == 0
    with pytest.raises(AuthError, match="revoked credential"):
        resolver.resolve(token, now=wib(27, "08:00"))
    assert count(engine, "audit_entry", "action LIKE 'credential.%'") == 2


def test_token_issue_and_revoke_are_in_the_audit_trail(engine: Engine, settings: Settings) -> None:
    from backend.cli import token_app

    env = {"POSKO_DATABASE_URL": settings.database_url}
    r = runner.invoke(token_app, ["issue", "--role", "viewer", "--name", "Ani", "--no-qr"], env=env)
    assert r.exit_code == 0, r.output
    cid = r.output.split()[1]
    r = runner.invoke(token_app, ["revoke", cid], env=env)
    assert r.exit_code == 0 and f"revoked credential {cid}" in r.output, r.output
    assert runner.invoke(token_app, ["revoke", "999999"], env=env).exit_code != 0
    with Session(engine) as s:
        entries = list_entries(session=s, subject=cid)
    assert [e.action for e in entries] == ["credential.revoked", "credential.issued"]
    assert all(e.actor.startswith("cli:") for e in entries)
    assert entries[1].data["role"] == "viewer"
