"""Credentials for a simulated day: a device token per officer and one viewer token, in a file.

This is the only part of the simulator that touches the database, and only to issue
credentials, as `posko token issue` would one at a time, each with its `credential.issued` audit
entry in the same transaction. The file holds live secrets: it is written with mode 0600, and a
run reads the registry with the viewer token, over the API.
"""

import json
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from backend.audit.service import AuditRecord, append
from backend.auth.models import Credential
from backend.auth.service import hmac_secret, new_credential
from backend.clock import Clock
from backend.config import Settings
from backend.officers.models import Officer, Unit
from schemas.enums import CredentialKind, Role

# Officers per transaction: a national registry has 128k of them.
CHUNK = 2000


@dataclass(frozen=True, slots=True)
class DeviceCredentials:
    """What a simulated phone needs: its token, and its HMAC key for signed webhooks."""

    token: str
    hmac_key_id: int | None = None
    hmac_secret: str | None = None


@dataclass(frozen=True, slots=True)
class Credentials:
    """The contents of a devices file."""

    viewer: str
    devices: dict[str, DeviceCredentials]  # NRP -> credentials


def provision(*, engine: Engine, settings: Settings, actor: str) -> Credentials:
    """Issue a device token for every officer and one viewer token, each audited as `actor`."""
    now = Clock.from_settings(settings).now()
    devices: dict[str, DeviceCredentials] = {}
    with Session(engine) as session:
        officers = session.exec(
            select(col(Officer.id), col(Officer.nrp), col(Unit.kabupaten_code))
            .join(Unit, col(Unit.id) == col(Officer.unit_id))
            .order_by(col(Officer.nrp))
        ).all()
        for start in range(0, len(officers), CHUNK):
            issued = []
            for officer_id, nrp, area in officers[start : start + CHUNK]:
                cred, token = new_credential(
                    kind=CredentialKind.DEVICE,
                    name=f"simulator {nrp}",
                    officer_id=officer_id,
                    area_code=area,  # the officer's unit's area, as the admin API gives it
                    now=now,
                )
                session.add(cred)
                issued.append((nrp, cred, token))
            session.flush()
            _audit_issued(session, now, actor, [(nrp, cred) for nrp, cred, _ in issued])
            session.commit()
            for nrp, cred, token in issued:
                assert cred.id is not None
                secret = hmac_secret(settings.secret_key, cred.id, cred.token_hash)
                devices[nrp] = DeviceCredentials(token, cred.id, secret)
        viewer, viewer_token = new_credential(
            kind=CredentialKind.PERSON,
            name="simulator (reads the registry)",
            role=Role.VIEWER,
            now=now,
        )
        session.add(viewer)
        session.flush()
        _audit_issued(session, now, actor, [(None, viewer)])
        session.commit()
    return Credentials(viewer_token, devices)


def _audit_issued(
    session: Session, now: datetime, actor: str, issued: list[tuple[str | None, Credential]]
) -> None:
    append(
        session=session,
        records=[
            AuditRecord(
                at=now,
                actor=actor,
                action="credential.issued",
                subject_kind="officer" if nrp else "credential",
                subject=nrp or str(cred.id),
                data={
                    "credential_id": cred.id,
                    "kind": cred.kind.value,
                    "name": cred.name,
                    "role": cred.role.value if cred.role else None,
                    "area": cred.area_code,
                },
            )
            for nrp, cred in issued
        ],
    )


def write_credentials(path: Path, creds: Credentials) -> None:
    """Write a devices file readable by its owner only, replacing any old one atomically."""
    body: dict[str, Any] = {
        "viewer": creds.viewer,
        "devices": {
            nrp: {"token": d.token, "hmac_key_id": d.hmac_key_id, "hmac_secret": d.hmac_secret}
            for nrp, d in creds.devices.items()
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp creates the file 0600 from the start: the secrets are never readable by others,
    # not even between writing and renaming.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(body, f, indent=1)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_credentials(path: Path) -> Credentials:
    """Read a devices file written by `write_credentials`."""
    body = json.loads(path.read_text())
    devices = {
        nrp: DeviceCredentials(d["token"], d.get("hmac_key_id"), d.get("hmac_secret"))
        for nrp, d in body["devices"].items()
    }
    return Credentials(body["viewer"], devices)
