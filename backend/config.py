"""Settings from the environment (prefix POSKO_) and a .env file."""

from datetime import datetime
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from backend.schedule.calendar import ElectionCalendar

PLACEHOLDER_SECRET = "changethis-local-only"
REPO_DIR = Path(__file__).resolve().parent.parent
# OKU Timur's boundaries and region table ship inside the package (MIT, Cahya DSN: see the LICENSE
# beside them), so a fresh clone or an installed wheel has them; other kabupaten set their own.
DEFAULT_REGION_DATA = Path(__file__).resolve().parent / "registry" / "data" / "oku_timur"
WIB = ZoneInfo("Asia/Jakarta")


class Settings(BaseSettings):
    """Everything configurable; the defaults run on one machine with nothing installed."""

    model_config = SettingsConfigDict(env_prefix="POSKO_", env_file=".env", extra="ignore")

    environment: Literal["local", "production"] = "local"
    secret_key: str = PLACEHOLDER_SECRET
    database_url: str = f"sqlite:///{REPO_DIR / 'var' / 'posko.db'}"
    broadcast_url: str = "memory://"
    host: str = "127.0.0.1"
    port: int = 8000
    # How people reach this server: printed links, the origin its pages post from, and (when it
    # starts with https://) a Secure cookie even behind a TLS-terminating proxy.
    public_url: str | None = None
    # Other origins whose pages may use the sign-in cookie (a second name behind a proxy that
    # rewrites Host): JSON list, e.g. '["https://10.20.0.5"]'. See backend/browser.py.
    trusted_origins: list[str] = Field(default_factory=list)

    # TLS served by `posko serve` itself (uvicorn): phones need HTTPS for the app's service
    # worker, storage and location. Both or neither; behind a TLS proxy leave them unset.
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None

    region_data_dir: Path = DEFAULT_REGION_DATA
    auto_migrate: bool = True  # run Alembic upgrade at start (SQLite convenience)

    # Intake: group commits, bounded memory.
    writer_batch_max: int = 2000
    # Where group commits run: "inline" on the event loop (SQLite: no GIL hand-offs per row),
    # "thread" on a writer thread (PostgreSQL: waits on the network); "auto" picks by database.
    writer_mode: Literal["auto", "inline", "thread"] = "auto"
    writer_queue_max: int = 20_000
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    max_frame_bytes: int = 256 * 1024
    # Frames up to this size are read, refused with a reason and kept (first 64 KiB); larger
    # ones are cut by the websocket layer itself (close code 1009) so nobody can exhaust memory.
    ws_max_message_bytes: int = 4 * 1024 * 1024
    max_batch_events: int = 1000
    # Incident photos (backend/photos): the largest body an upload may have; read no further
    # than this (+1 byte). The phone shrinks its photos to 300 KB or less.
    photo_max_bytes: int = Field(default=1024 * 1024, ge=1, le=64 * 1024 * 1024)
    max_inflight_per_connection: int = 5000
    enforce_assignment: bool = False

    # Time rules for field events.
    clock_skew_tolerance_s: float = 120.0
    late_after_s: float = 300.0
    max_future_s: float = 24 * 3600.0
    max_age_s: float = 7 * 24 * 3600.0
    hmac_window_s: float = 300.0

    # Exercise clock: start the server's clock at a past or future moment, optionally faster.
    clock_start: AwareDatetime | None = None
    clock_speed: float = Field(default=1.0, gt=0)

    # Liveness: minutes a TPS may go unseen during voting, by risk rating; other watched phases
    # get `grace_other_phase_factor` times as much (see backend.tps.liveness).
    grace_voting_min: dict[str, float] = Field(
        default_factory=lambda: {"sangat_rawan": 10.0, "rawan": 20.0, "kurang_rawan": 45.0}
    )
    grace_other_phase_factor: float = 2.0

    # Dashboard map: a raster tile URL template ({z}/{x}/{y}) for rooms that have a tile server;
    # without it the map draws boundaries on a plain background and never leaves the server.
    map_tile_url: str | None = None
    # Above this many TPS in a screen's area, `/` and `/wall` hand over to the rollup page
    # `/nasional`: a browser drawing a province (tens of thousands) or the nation (435k) of
    # live markers is unusable, and reading them all every few seconds is not cheap either.
    map_max_tps: int = Field(default=20_000, ge=1)

    # Threads for blocking work (database reads, sweeps, dashboard callbacks).
    io_threads: int = 16

    # Live stream.
    live_queue_max: int = 512
    # Scale-out: how often one node of the cluster checks tps_rollup against tps_state (its
    # lease lasts three intervals, so a dead holder is replaced within about four).
    rollup_check_s: float = Field(default=60.0, gt=0)
    # Revocations are announced to every node (backend/auth/revocation.py), which forgets them
    # at once; the cache only bounds how stale a credential can be if an announcement is lost
    # with no resync (docs/deployment.md, "Credential checks"). 300 s: a national phone sends a
    # frame every ~3 min, so nearly every frame is a dict hit, not a database read.
    credential_cache_s: float = 300.0
    # A revocation made by the CLI leaves a stamp in the database: how often each node reads it.
    revocation_poll_s: float = Field(default=1.0, gt=0)
    # How often an open /ws/field socket re-checks its credential with no frame coming in: a
    # backstop (a revocation wakes the socket at once), jittered ±20 % so 128k phones that
    # connected together do not re-check together. /ws/live screens are few: every 2 s.
    field_revalidate_s: float = Field(default=60.0, gt=0)
    live_revalidate_s: float = Field(default=2.0, gt=0)

    # Operations (backend/schedule, backend/alerts): the election calendar and its bounds,
    # liveness of officers, outage grouping, escalation. Minutes are on the server's clock.
    calendar: ElectionCalendar = Field(default_factory=ElectionCalendar)
    officer_grace_min: float = Field(default=30.0, gt=0)
    # A kecamatan is "possibly out of network" when at least outage_min_tps and outage_share of
    # its watched TPS sent nothing for outage_silence_min, while elsewhere fewer did.
    outage_silence_min: float = Field(default=10.0, gt=0)
    outage_min_tps: int = Field(default=3, ge=1)
    outage_share: float = Field(default=0.6, gt=0, le=1)
    severe_incident_min: int = Field(default=3, ge=1, le=4)
    escalate_after_min: float = Field(default=10.0, gt=0)
    # The sweeper runs every sweep_interval_s real seconds on the node holding the lease.
    sweep_interval_s: float = Field(default=2.0, gt=0)
    sweep_lease_s: float = Field(default=10.0, gt=0)
    # Between full sweeps the leader sweeps incrementally (backend/alerts/incremental.py); a
    # full one runs on gaining the lease and every sweep_reconcile_s on it, to catch drift.
    sweep_reconcile_s: float = Field(default=300.0, gt=0)
    intake_stall_s: float = Field(default=15.0, gt=0)  # queued events but no commit this long
    # Chain of custody of the ballot boxes (backend/custody, docs/custody.md): the road from a
    # TPS to its PPK is the straight distance x custody_road_factor at custody_road_kmh; alerts
    # when sealed boxes have not left within custody_depart_within_min, have not arrived by the
    # expected time + custody_arrival_margin_min, or the escorts' positions stay within
    # custody_still_radius_m for custody_still_min on the way.
    custody_road_kmh: float = Field(default=30.0, gt=0)
    custody_road_factor: float = Field(default=1.3, ge=1)
    custody_depart_within_min: float = Field(default=60.0, gt=0)
    custody_arrival_margin_min: float = Field(default=30.0, ge=0)
    custody_still_radius_m: float = Field(default=100.0, gt=0)
    custody_still_min: float = Field(default=15.0, gt=0)
    # Outgoing alert webhook: JSON body, X-Posko-Signature = sha256=HMAC(secret, ts + "." + body).
    alert_webhook_url: str | None = None
    alert_webhook_secret: str | None = None
    webhook_timeout_s: float = 5.0
    webhook_backoff_s: float = 2.0
    webhook_backoff_max_s: float = 600.0
    webhook_max_attempts: int = 12

    # Chat and SMS channels (backend/channels, docs/channels.md). A channel answers only when its
    # secret is set; every provider's base URL is a setting, so tests run against local fakes.
    channel_lang: Literal["id", "en"] = "id"  # the language of the replies
    phone_country_code: str = Field(default="62", pattern=r"^[1-9][0-9]{0,2}$")  # 0812… → 62812…
    channel_timeout_s: float = Field(default=10.0, gt=0)
    channel_backoff_s: float = Field(default=2.0, gt=0)
    channel_backoff_max_s: float = Field(default=300.0, gt=0)
    channel_max_attempts: int = Field(default=10, ge=1)
    # Wrong DAFTAR codes one sender may send per hour before the codes are not even looked at.
    channel_enrol_max_failures: int = Field(default=5, ge=1)
    # WhatsApp Business Cloud API: the webhook's verify token and app secret (X-Hub-Signature-256),
    # the access token and phone number id that replies are sent with, and the approved template
    # sent outside the 24-hour service window (its one body parameter is the reply's text).
    whatsapp_verify_token: SecretStr | None = None
    whatsapp_app_secret: SecretStr | None = None
    whatsapp_access_token: SecretStr | None = None
    whatsapp_phone_number_id: str | None = None
    whatsapp_graph_url: str = "https://graph.facebook.com/v21.0"
    whatsapp_template: str | None = None
    whatsapp_template_lang: str = "id"
    # Telegram bot: its token, the secret_token given to setWebhook (sent back to us as
    # X-Telegram-Bot-Api-Secret-Token), or long polling (getUpdates) without public HTTPS.
    telegram_bot_token: SecretStr | None = None
    telegram_secret_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    telegram_polling: bool = False
    telegram_poll_timeout_s: int = Field(default=25, ge=0, le=50)
    # SMSGate (Android gateway phone): the webhook signing key, and its API for the replies
    # (the phone's local server http://<ip>:8080 or https://api.sms-gate.app/3rdparty/v1).
    smsgate_signing_key: SecretStr | None = None
    smsgate_url: str | None = None
    smsgate_username: str | None = None
    smsgate_password: SecretStr | None = None
    # SMSSync (older Android gateway): its shared secret; replies ride its sync responses.
    smssync_secret: SecretStr | None = None

    # People (backend/users): sessions last one shift. After login_max_failures wrong passwords
    # in a row each further attempt must wait, login_delay_s at first, doubling per failure up to
    # login_delay_max_s (never a lockout: the right password after the wait works).
    session_hours: float = Field(default=12.0, gt=0)
    login_max_failures: int = Field(default=5, ge=1)
    login_delay_s: float = Field(default=10.0, gt=0)
    login_delay_max_s: float = Field(default=300.0, gt=0)
    # Per address (real time, per node): failed sign-ins within the window before answering 429
    # without hashing; a storm from one address must not queue everyone's sign-in behind it.
    login_address_max_failures: int = Field(default=20, ge=1)
    login_address_window_min: float = Field(default=10.0, gt=0)
    password_time_cost: int = 3  # argon2id (RFC 9106 low-memory profile)
    password_memory_kib: int = 65536

    # Officers' phones (backend/enrolment): how long a printed enrolment link works, and how many
    # refused links one address may try within the window before it gets 429 (per node).
    enrolment_hours: float = Field(default=48.0, gt=0, le=720)
    enrolment_address_max_failures: int = Field(default=20, ge=1)
    enrolment_address_window_min: float = Field(default=10.0, gt=0)

    # Officers' positions (backend/positions): tracker fixes wait at most positions_flush_ms to
    # share a commit; a fix older than positions_stale_s is greyed on the map and not counted as
    # fresh on the wall; an OwnTracks phone whose officer sent no fix for positions_silent_s is
    # asked for one (reportLocation), at most once per positions_ask_every_s.
    positions_flush_ms: float = Field(default=200.0, ge=0, le=5000)
    positions_queue_max: int = Field(default=20_000, ge=1)
    positions_stale_s: float = Field(default=300.0, gt=0)
    positions_silent_s: float = Field(default=600.0, gt=0)
    positions_ask_every_s: float = Field(default=120.0, gt=0)

    # Audit chain (backend/audit): entries are HMAC-chained with a key derived from audit_key,
    # or from secret_key when it is unset; the database never holds it. Checkpoints (seq, hash,
    # time, signature) go every audit_checkpoint_s to the append-only audit_anchor_path (best on
    # another machine or mount) and, with a webhook configured, through the alert outbox.
    audit_key: SecretStr | None = None
    audit_anchor_path: Path | None = None
    audit_checkpoint_s: float = Field(default=60.0, gt=0)

    # Situation reports (backend/reports, docs/reports.md): drafted every report_every_min
    # minutes of the server's clock (and when a day ends, the daily report) by the node holding
    # the "reports" lease, which looks every report_tick_s real seconds. A signed report goes
    # to each of report_recipients: "webhook" (the alert webhook's URL and secret) and chat
    # addresses "telegram:<chat id>", "whatsapp:<number>", "smsgate:<number>".
    report_schedule: bool = True
    report_every_min: float = Field(default=60.0, gt=0, le=24 * 60)
    report_tick_s: float = Field(default=30.0, gt=0)
    report_recipients: list[str] = Field(default_factory=lambda: ["webhook"])
    # The heading of the printed report, one line each (the Polres's own).
    report_heading: list[str] = Field(
        default_factory=lambda: [
            "KEPOLISIAN NEGARA REPUBLIK INDONESIA",
            "DAERAH SUMATERA SELATAN",
            "RESOR OKU TIMUR",
        ]
    )
    report_place: str = "Martapura"  # where the commander signs, above the signature
    report_signer_title: str = "KEPALA KEPOLISIAN RESOR OKU TIMUR"  # the office that signs
    # The PDF is printed by headless Chromium.
    chromium_path: Path = Path("/usr/bin/chromium")
    report_pdf_timeout_s: float = Field(default=60.0, gt=0)

    @field_validator("audit_anchor_path", "ssl_certfile", "ssl_keyfile", mode="before")
    @classmethod
    def _empty_path_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> "Settings":
        if self.environment != "local" and self.secret_key == PLACEHOLDER_SECRET:
            raise ValueError("POSKO_SECRET_KEY must be set outside local mode")
        audit_key = self.audit_key.get_secret_value() if self.audit_key else None
        if audit_key is not None and (len(audit_key) < 16 or audit_key == PLACEHOLDER_SECRET):
            raise ValueError("POSKO_AUDIT_KEY must be a secret of at least 16 characters")
        for url in self.trusted_origins:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"POSKO_TRUSTED_ORIGINS: {url!r} is not an http(s) origin")
        if (self.ssl_certfile is None) != (self.ssl_keyfile is None):
            raise ValueError("POSKO_SSL_CERTFILE and POSKO_SSL_KEYFILE go together")
        if self.alert_webhook_url and not self.alert_webhook_secret:
            raise ValueError("POSKO_ALERT_WEBHOOK_SECRET must be set with POSKO_ALERT_WEBHOOK_URL")
        return self

    @property
    def insecure(self) -> list[str]:
        """What makes this configuration unfit for a real election day (empty: nothing known)."""
        # Local mode accepts the placeholder so that a demo runs with nothing set; it is shown
        # on every start, on /healthz and on the screens' platform health so nobody misses it.
        return ["placeholder secret"] if self.secret_key == PLACEHOLDER_SECRET else []

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is SQLite."""
        return self.database_url.startswith("sqlite")

    def exercise_label(self) -> str | None:
        """A short label when the clock is not real time, else None."""
        if self.clock_start is None and self.clock_speed == 1.0:
            return None
        start = self.clock_start.astimezone(WIB).strftime("%d-%m %H:%M") if self.clock_start else ""
        return f"{start} x{self.clock_speed:g}".strip()


def now_utc() -> datetime:
    """Real wall-clock time, timezone-aware."""
    return datetime.now(ZoneInfo("UTC"))
