"""The naive path: FastAPI + SQLModel, one `add()` + `commit()` per webhook request.

    python -m bench.baselines.naive --port P --database-url URL

What a first version of the webhook would look like: the same signed request (HMAC checked),
the body validated with the same pydantic schema, then a Session, `add(Ping(...))`, `commit()`
per request in a plain `def` endpoint (FastAPI runs it on its thread pool). Same database,
same pragmas (backend.db.make_engine), same table and rows already in it.
"""

import argparse
import hmac
import time
from datetime import UTC, datetime

import orjson
import uvicorn
from fastapi import FastAPI, HTTPException, Request, Response
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool

from backend.auth.models import Credential
from backend.auth.service import hmac_secret
from backend.config import Settings
from backend.db import make_engine
from backend.intake.models import Ping
from backend.tps.models import Tps
from schemas.events import PingIn
from tests.conftest import TEST_SECRET


def create(database_url: str) -> FastAPI:
    """The naive app."""
    engine = make_engine(Settings(database_url=database_url))
    with Session(engine) as s:
        tps = {t.code: t.id for t in s.exec(select(Tps))}
        creds = {
            c.id: (c.officer_id, hmac_secret(TEST_SECRET, c.id, c.token_hash).encode())
            for c in s.exec(select(Credential))
            if c.officer_id is not None and c.id is not None
        }
    app = FastAPI()

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/v1/pings")
    async def post_ping(request: Request) -> Response:
        # The signature covers the raw body, so it is read as bytes; the database work then
        # runs on the thread pool, as a plain `def` endpoint would.
        body = await request.body()
        key_id = int(request.headers["x-posko-key-id"])
        ts = request.headers["x-posko-timestamp"]
        officer_id, secret = creds[key_id]
        expected = hmac.new(secret, ts.encode() + b"." + body, "sha256").hexdigest()
        if not hmac.compare_digest("sha256=" + expected, request.headers["x-posko-signature"]):
            raise HTTPException(401)
        if abs(time.time() - int(ts)) > 300:
            raise HTTPException(401)
        ping = PingIn.model_validate_json(body)
        return await run_in_threadpool(_commit, ping, officer_id)

    def _commit(ping: PingIn, officer_id: int) -> Response:
        with Session(engine) as s:
            s.add(
                Ping(
                    event_id=ping.event_id,
                    officer_id=officer_id,
                    tps_id=tps[ping.tps],
                    phase=ping.phase,
                    situation=ping.situation,
                    device_time=ping.device_time,
                    received_at=datetime.now(UTC),
                    lat=ping.lat,
                    lon=ping.lon,
                    note=ping.note,
                    source="http",
                )
            )
            try:
                s.commit()
                result = "stored"
            except IntegrityError:
                result = "duplicate"
        ack = {"type": "ack", "event_id": str(ping.event_id), "result": result}
        return Response(orjson.dumps(ack), 200, media_type="application/json")

    return app


def main() -> None:
    """Parse arguments and serve."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--database-url", required=True)
    args = ap.parse_args()
    uvicorn.run(create(args.database_url), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
