"""The one rule of administration: reach inside your area and role, grant no more than you hold."""

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from backend.authority import SERVER, Authority, GrantError, reaches
from backend.users.models import User
from schemas.enums import Role
from tests.factories import NOW

AREAS = [None, "16", "16.08", "16.09", "16.1", "16.10", "17", "17.08", "1", "16.08.01"]
SCOPES = [None, "16", "16.08", "16.1", "17", "1", "", "16.", "x"]


def test_an_area_reaches_what_lies_inside_it_by_whole_code_segments() -> None:
    assert reaches(None, None) and reaches(None, "17.08")
    assert reaches("16", "16.08") and reaches("16", "16") and reaches("16.08", "16.08")
    assert not reaches("16", None)  # national things: national actors only
    assert not reaches("16.08", "16")  # never upwards
    assert not reaches("16.08", "16.09")  # nor sideways
    assert not reaches("16.1", "16.10")  # "16.10" is not inside "16.1"
    assert not reaches("1", "16.08")  # a malformed scope reaches nothing, not a prefix's worth


def test_the_where_clause_keeps_exactly_the_rows_the_rule_reaches(engine: Engine) -> None:
    with Session(engine) as s:
        for i, area in enumerate(AREAS):
            s.add(
                User(
                    username=f"u{i}",
                    full_name="x",
                    role=Role.VIEWER,
                    area_code=area,
                    password_hash="x",
                    created_at=NOW,
                )
            )
        s.commit()
        for scope in SCOPES:
            who = Authority(Role.ADMIN, scope)
            found = s.exec(
                select(col(User.area_code)).where(who.where_reached(col(User.area_code)))
            ).all()
            assert sorted(found, key=str) == sorted(
                [a for a in AREAS if who.reaches(a)], key=str
            ), scope


def test_a_role_above_the_actors_own_is_out_of_reach_and_cannot_be_granted(
    engine: Engine,
) -> None:
    commander = Authority(Role.COMMANDER, "16.08")
    assert commander.reaches("16.08", Role.OPERATOR) and commander.reaches("16.08", Role.COMMANDER)
    assert not commander.reaches("16.08", Role.ADMIN)
    assert commander.reaches("16.08")  # things without a role: kiosks, devices
    with pytest.raises(GrantError) as err:
        commander.check_grant(role=Role.ADMIN, area="16.08")
    assert (err.value.field, err.value.status) == ("role", 403)
    assert commander.check_grant(role=Role.COMMANDER, area=None) == "16.08"
    with Session(engine) as s:
        for i, role in enumerate(Role):
            s.add(
                User(
                    username=f"r{i}",
                    full_name="x",
                    role=role,
                    area_code="16.08",
                    password_hash="x",
                    created_at=NOW,
                )
            )
        s.commit()
        clause = commander.where_reached(col(User.area_code), col(User.role))
        roles = set(s.exec(select(col(User.role)).where(clause)).all())
    assert roles == {Role.VIEWER, Role.OPERATOR, Role.COMMANDER}


def test_an_area_granted_defaults_to_the_actors_own_and_may_only_narrow_it() -> None:
    province = Authority(Role.ADMIN, "16")
    assert province.grantable_area(None) == "16" and province.grantable_area("") == "16"
    assert province.grantable_area("16.08") == "16.08"
    for wanted, status in (("17", 403), ("17.08", 403), ("1", 422), ("16.08.01", 422)):
        with pytest.raises(GrantError) as err:
            province.grantable_area(wanted)
        assert (err.value.field, err.value.status) == ("area_code", status), wanted
    assert SERVER.grantable_area(None) is None and SERVER.grantable_area("17") == "17"
    with pytest.raises(GrantError):
        Authority(Role.ADMIN, "1").grantable_area("16.08")  # a malformed scope grants nothing
