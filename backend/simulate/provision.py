"""Credentials for a simulated day: a device token per officer and one viewer token, in a file.

This is the only part of the simulator that touches the database, and only to issue
credentials, as `posko token issue` would one at a time. The file holds live secrets: it is
written with mode 0600, and a run reads the registry with the viewer token, over the API.
"""

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from backend.auth.service import hmac_secret, issue
from backend.clock import Clock
from backend.config import Settings
from backend.officers.models import Officer
from schemas.enums import CredentialKind, Role


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


def provision(*, engine: Engine, settings: Settings) -> Credentials:
    """Issue a device token for every officer and one viewer token."""
    now = Clock.from_settings(settings).now()
    devices: dict[str, DeviceCredentials] = {}
    with Session(engine) as session:
        officers = list(session.exec(select(Officer).order_by(col(Officer.nrp))))
        for o in officers:
            assert o.id is not None
            cred, token = issue(
                session=session,
                kind=CredentialKind.DEVICE,
                name=f"simulator {o.nrp}",
                officer_id=o.id,
                area_code=o.kabupaten_code,
                now=now,
            )
            assert cred.id is not None
            secret = hmac_secret(settings.secret_key, cred.id, cred.token_hash)
            devices[o.nrp] = DeviceCredentials(token, cred.id, secret)
        _, viewer = issue(
            session=session,
            kind=CredentialKind.PERSON,
            name="simulator (reads the registry)",
            role=Role.VIEWER,
            now=now,
        )
    return Credentials(viewer, devices)


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
