"""What an officer's text message means (chat or SMS), or exactly why it was not understood.

`backend/channels/grammar.py` turns a message into one of these; the channel that received it
stores what it says and answers with `backend/channels/replies.py`. No officer is ever named
here: the sender is bound to an officer by the channel, never by a name in the text.
"""

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter

from schemas.enums import CustodyStep, IncidentCategory, Phase, Situation
from schemas.events import NO_NUL, ShortText, TpsCode

NOTE_MAX = 500  # PingIn.note
TEXT_MAX = 2000  # IncidentIn.description

Note = Annotated[str, StringConstraints(min_length=1, max_length=NOTE_MAX, pattern=NO_NUL)]
Text = Annotated[str, StringConstraints(max_length=TEXT_MAX, pattern=NO_NUL)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TpsRef(_Frozen):
    """One TPS the sender is assigned to: how a bare number or a desa name is resolved."""

    code: TpsCode
    number: Annotated[int, Field(ge=1, le=999)]
    desa: str = Field(description="desa name as registered, e.g. 'Sukaraja'")


class PhaseReport(_Frozen):
    """A phase and/or situation of one TPS; None means "unchanged": the caller fills it in."""

    kind: Literal["phase_report"] = "phase_report"
    tps: TpsCode
    phase: Phase | None
    situation: Situation | None
    note: Note | None = None
    # The message named no TPS and the sender has exactly one: that one.
    is_tps_implied: bool = False


class IncidentReport(_Frozen):
    """`INSIDEN <tps> <category> <severity> <text>`."""

    kind: Literal["incident_report"] = "incident_report"
    # Always set by the text grammar; None is left for channels that locate by position.
    tps: TpsCode | None
    category: IncidentCategory
    severity: Annotated[int, Field(ge=1, le=4)]
    text: Annotated[Text, StringConstraints(min_length=1)]
    is_tps_implied: bool = False


class CustodyReport(_Frozen):
    """`SEGEL 3 <seal…>`, `BERANGKAT 3 <vehicle>`, `TIBA 3 PPK`, `SERAH 3 <BA number> <name>`."""

    kind: Literal["custody_report"] = "custody_report"
    tps: TpsCode
    step: CustodyStep
    seal_numbers: tuple[ShortText, ...] = Field(default=(), max_length=50)
    vehicle: ShortText | None = None
    ba_number: ShortText | None = None
    receiver_name: (
        Annotated[str, StringConstraints(min_length=1, max_length=120, pattern=NO_NUL)] | None
    ) = None
    is_tps_implied: bool = False


class Sos(_Frozen):
    """An officer needs help now; never refused for what else the message says."""

    kind: Literal["sos"] = "sos"
    text: Text = ""
    tps: TpsCode | None = None  # when the message names one of the sender's TPS unambiguously


class StatusQuery(_Frozen):
    """What Posko knows of the sender's TPS (`tps` None: all of them)."""

    kind: Literal["status"] = "status"
    tps: TpsCode | None = None


class Help(_Frozen):
    """The grammar, in two SMS at most."""

    kind: Literal["help"] = "help"


class Enrol(_Frozen):
    """`DAFTAR 482913`: the one-time code from an enrolment sheet."""

    kind: Literal["enrol"] = "enrol"
    code: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]


class TallyRefused(_Frozen):
    """The message reports vote counts: Posko does not record results, nothing of it is kept."""

    kind: Literal["tally_refused"] = "tally_refused"


class RefusalReason(StrEnum):
    """Why a message was not understood; each has its reply in `backend/channels/replies.py`."""

    EMPTY = "empty"  # nothing readable
    NO_KEYWORD = "no_keyword"  # no phase or situation where one was expected
    AMBIGUOUS_WORD = "ambiguous_word"  # one typo away from two keywords of different meaning
    CONFLICTING_PHASE = "conflicting_phase"  # e.g. "coblos selesai": voting or counting done?
    NEGATED = "negated"  # only negated keywords ("belum buka", "tidak aman")
    TPS_MISSING = "tps_missing"  # no TPS, and the sender does not have exactly one
    TPS_NOT_ASSIGNED = "tps_not_assigned"  # a number (or desa) none of the sender's TPS has
    TPS_AMBIGUOUS = "tps_ambiguous"  # the same number in two of the sender's desa
    TPS_INVALID = "tps_invalid"  # not a TPS number (0, > 999) or a malformed code
    MULTIPLE_TPS = "multiple_tps"  # one message, one TPS
    INCIDENT_CATEGORY = "incident_category"
    INCIDENT_SEVERITY = "incident_severity"
    INCIDENT_TEXT = "incident_text"
    ENROL_CODE = "enrol_code"  # DAFTAR without six digits
    CUSTODY_FIELDS = "custody_fields"  # SEGEL without seal numbers, SERAH without a name
    # Decided by the channel, not by the grammar; their replies live beside the others.
    UNKNOWN_SENDER = "unknown_sender"
    ENROL_REJECTED = "enrol_rejected"
    # A report with phase or situation None for a TPS that has none on record to fill in.
    FIRST_REPORT = "first_report"


class Refusal(_Frozen):
    """Not understood: what exactly (`detail`, `options`) and a message that would be."""

    kind: Literal["refusal"] = "refusal"
    reason_id: RefusalReason
    detail: str = Field(description="the officer's words (or number) that were not understood")
    options: tuple[str, ...] = Field(
        default=(), description="what could have been meant: keywords, the sender's TPS numbers"
    )
    example: str = Field(description="a message that would be understood, for this sender")


Command = (
    PhaseReport | IncidentReport | CustodyReport | Sos | StatusQuery | Help | Enrol | TallyRefused
)
ParseResult = Annotated[Command | Refusal, Field(discriminator="kind")]
PARSE_RESULT_ADAPTER: TypeAdapter[Command | Refusal] = TypeAdapter(ParseResult)


class SenderLinkCreate(BaseModel):
    """Bind a phone number (WhatsApp and SMS) or a Telegram chat to an officer: one of the two."""

    model_config = ConfigDict(extra="forbid")

    phone: Annotated[str, StringConstraints(min_length=3, max_length=32)] | None = None
    telegram: Annotated[str, StringConstraints(min_length=1, max_length=20)] | None = None


class SenderLinkPublic(BaseModel):
    """A sender bound to an officer."""

    kind: Literal["phone", "telegram"]
    address: str = Field(description="digits with the country code, or the Telegram chat id")
    nrp: str
    bound_by: str
    bound_at: str


class SenderLinksPublic(BaseModel):
    """The senders bound to one officer."""

    data: list[SenderLinkPublic]
    count: int
