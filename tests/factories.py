"""Small registries and credentials for tests, written through the real models."""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session

from backend.auth.service import issue
from backend.meta import REGISTRY_STAMP, set_value
from backend.officers.models import Assignment, Officer, Unit, UnitKecamatan
from backend.regions.models import Region
from backend.tps.models import Tps, TpsState
from backend.tps.rollup import rebuild as rebuild_rollup
from schemas.enums import CredentialKind, RegionLevel, RiskRating, Role, UnitKind

NOW = datetime(2024, 11, 27, 1, 0, tzinfo=UTC)  # 08:00 WIB on voting day


@dataclass
class MiniRegistry:
    """Codes and ids of a small registry: 2 kecamatan, 4 desa, 12 TPS, 4 officers."""

    tps_codes: list[str] = field(default_factory=list)
    officer_ids: list[int] = field(default_factory=list)
    officer_nrps: list[str] = field(default_factory=list)
    assignments: dict[str, list[int]] = field(default_factory=dict)  # tps code -> officer ids


def seed_mini(engine: Engine) -> MiniRegistry:
    """Write a small OKU Timur-like registry."""
    reg = MiniRegistry()
    with Session(engine) as s:
        s.add(Region(code="16", name="Sumatera Selatan", level=RegionLevel.PROVINSI))
        s.add(
            Region(
                code="16.08",
                name="Ogan Komering Ulu Timur",
                level=RegionLevel.KABUPATEN,
                parent_code="16",
            )
        )
        kecs = {"16.08.01": "Martapura", "16.08.03": "Belitang"}
        desas = {
            "16.08.01.1007": ("16.08.01", "Dusun Martapura", -4.298, 104.346),
            "16.08.01.2006": ("16.08.01", "Tanjung Kemala", -4.321, 104.337),
            "16.08.03.2001": ("16.08.03", "Gumawang", -4.146, 104.639),
            "16.08.03.2002": ("16.08.03", "Sumber Jaya", -4.150, 104.650),
        }
        for code, name in kecs.items():
            s.add(Region(code=code, name=name, level=RegionLevel.KECAMATAN, parent_code="16.08"))
        for code, (kec, name, lat, lon) in desas.items():
            s.add(
                Region(
                    code=code,
                    name=name,
                    level=RegionLevel.DESA,
                    parent_code=kec,
                    lat=lat,
                    lon=lon,
                )
            )
        s.flush()
        polres = Unit(
            code="polres-oku-timur",
            name="Polres OKU Timur",
            kind=UnitKind.POLRES,
            kabupaten_code="16.08",
        )
        s.add(polres)
        s.flush()
        polsek = Unit(
            code="polsek-belitang",
            name="Polsek Belitang",
            kind=UnitKind.POLSEK,
            parent_id=polres.id,
            kabupaten_code="16.08",
        )
        s.add(polsek)
        s.flush()
        assert polsek.id is not None and polres.id is not None
        s.add(UnitKecamatan(unit_id=polres.id, kecamatan_code="16.08.01"))
        s.add(UnitKecamatan(unit_id=polsek.id, kecamatan_code="16.08.03"))
        officers = []
        for i in range(4):
            o = Officer(
                nrp=f"8501{i:04d}",
                name=f"Petugas {i}",
                rank="Bripka",
                unit_id=polres.id if i < 2 else polsek.id,
                kabupaten_code="16.08",
            )
            s.add(o)
            officers.append(o)
        s.flush()
        tps_list = []
        for d, (code, (kec, _, lat, lon)) in enumerate(desas.items()):
            for n in range(1, 4):
                t = Tps(
                    code=f"{code}-{n:03d}",
                    number=n,
                    desa_code=code,
                    kecamatan_code=kec,
                    kabupaten_code="16.08",
                    province_code="16",
                    lat=lat + n * 0.001,
                    lon=lon,
                    voters=400 + n,
                    risk=RiskRating.SANGAT_RAWAN if (d, n) == (0, 1) else RiskRating.KURANG_RAWAN,
                )
                s.add(t)
                tps_list.append(t)
        s.flush()
        for i, t in enumerate(tps_list):
            assert t.id is not None
            s.add(TpsState(tps_id=t.id))
            o = officers[i // 3]
            assert o.id is not None
            s.add(Assignment(officer_id=o.id, tps_id=t.id))
            reg.tps_codes.append(t.code)
            reg.assignments[t.code] = [o.id]
        reg.officer_ids = [o.id for o in officers if o.id is not None]
        reg.officer_nrps = [o.nrp for o in officers]
        set_value(session=s, key=REGISTRY_STAMP, value="mini-1")
        s.flush()
        rebuild_rollup(session=s)  # what every registry write does
        s.commit()
    return reg


def device_token(engine: Engine, officer_id: int, *, now: datetime = NOW) -> str:
    """Issue a device token for an officer."""
    with Session(engine) as s:
        _, token = issue(
            session=s, kind=CredentialKind.DEVICE, name="test phone", officer_id=officer_id, now=now
        )
    return token


def person_token(engine: Engine, role: Role = Role.VIEWER, *, area: str | None = None) -> str:
    """Issue an API token for a person."""
    with Session(engine) as s:
        _, token = issue(
            session=s,
            kind=CredentialKind.PERSON,
            name=f"test {role.value}",
            role=role,
            area_code=area,
            now=NOW,
        )
    return token
