"""The text grammar of every chat and SMS channel, and the replies it leads to."""

import re
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.channels.grammar import (
    KNOWN,
    PHASE_CUES,
    SITUATION_WORDS,
    TYPO_MIN,
    parse,
    within_one_edit,
)
from backend.channels.replies import (
    HELP_TEXT,
    SMS_PART,
    gsm7_septets,
    reply,
    to_gsm7,
)
from schemas.channels import (
    NOTE_MAX,
    PARSE_RESULT_ADAPTER,
    Command,
    CustodyReport,
    Enrol,
    Help,
    IncidentReport,
    PhaseReport,
    Refusal,
    RefusalReason,
    Sos,
    StatusQuery,
    TallyRefused,
    TpsRef,
)
from schemas.enums import CustodyStep, IncidentCategory, Phase, Situation
from tests.channels.grammar_cases import (
    ANY,
    C1,
    CASES,
    JOKO,
    SENDERS,
    SOLO,
    SOS,
    TWIN,
    Custody,
    Incident,
    Ping,
    Refused,
)


def _mismatches(result: Command | Refusal, expect: object) -> list[str]:
    def check(name: str, got: object, want: object) -> list[str]:
        return [] if want is ANY or got == want else [f"{name}: got {got!r}, want {want!r}"]

    match expect:
        case Ping():
            if not isinstance(result, PhaseReport):
                return [f"want a PhaseReport, got {result!r}"]
            return [
                *check("tps", result.tps, expect.tps),
                *check("phase", result.phase, expect.phase),
                *check("situation", result.situation, expect.situation),
                *check("note", result.note, expect.note),
                *check("is_tps_implied", result.is_tps_implied, expect.implied),
            ]
        case Incident():
            if not isinstance(result, IncidentReport):
                return [f"want an IncidentReport, got {result!r}"]
            return [
                *check("tps", result.tps, expect.tps),
                *check("category", result.category, expect.category),
                *check("severity", result.severity, expect.severity),
                *check("text", result.text, expect.text),
            ]
        case Custody():
            if not isinstance(result, CustodyReport):
                return [f"want a CustodyReport, got {result!r}"]
            return [
                *check("tps", result.tps, expect.tps),
                *check("step", result.step, expect.step),
                *check("seal_numbers", result.seal_numbers, expect.seals),
                *check("vehicle", result.vehicle, expect.vehicle),
                *check("ba_number", result.ba_number, expect.ba),
                *check("receiver_name", result.receiver_name, expect.receiver),
            ]
        case SOS():
            if not isinstance(result, Sos):
                return [f"want an Sos, got {result!r}"]
            return [*check("tps", result.tps, expect.tps), *check("text", result.text, expect.text)]
        case Refused():
            if not isinstance(result, Refusal):
                return [f"want a Refusal, got {result!r}"]
            return [
                *check("reason", result.reason_id, expect.reason),
                *check("detail", result.detail, expect.detail),
                *check("options", result.options, expect.options),
            ]
    return [] if result == expect else [f"got {result!r}, want {expect!r}"]


def _case_id(case: tuple[str, str, object]) -> str:
    sender, text, _ = case
    return f"{sender}:{text[:48]}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_each_message_as_officers_type_it_reads_as_expected(
    case: tuple[str, str, object],
) -> None:
    sender, text, expect = case
    result = parse(text, assignments=SENDERS[sender])
    assert _mismatches(result, expect) == []


def test_the_table_holds_at_least_150_distinct_messages_of_every_kind() -> None:
    assert len({(s, t) for s, t, _ in CASES}) == len(CASES)
    assert len(CASES) >= 150
    kinds = {type(e).__name__ for _, _, e in CASES}
    assert kinds >= {"Ping", "Incident", "SOS", "Refused", "Help", "TallyRefused", "Enrol"}
    reasons = {e.reason for _, _, e in CASES if isinstance(e, Refused)}
    parse_reasons = set(RefusalReason) - CHANNEL_REASONS
    assert reasons == parse_reasons  # every refusal the grammar can give is in the table


CHANNEL_REASONS = {
    RefusalReason.UNKNOWN_SENDER,
    RefusalReason.ENROL_REJECTED,
    RefusalReason.FIRST_REPORT,
}


def _table_results() -> list[tuple[tuple[TpsRef, ...], str, Command | Refusal]]:
    return [(SENDERS[s], text, parse(text, assignments=SENDERS[s])) for s, text, _ in CASES]


def test_every_refusal_example_is_a_message_the_same_sender_would_have_understood() -> None:
    refusals = [(a, r) for a, _, r in _table_results() if isinstance(r, Refusal)]
    assert refusals
    for assignments, refusal in refusals:
        again = parse(refusal.example, assignments=assignments)
        assert not isinstance(again, Refusal), (refusal, again)
        assert not isinstance(again, TallyRefused)


def test_the_short_tps_number_of_an_example_is_the_senders_own() -> None:
    refusal = parse("coblos aman", assignments=JOKO)
    assert isinstance(refusal, Refusal)
    assert refusal.example == "TPS 5 COBLOS AMAN"
    twin = parse("tps 3 aman", assignments=TWIN)
    assert isinstance(twin, Refusal)
    assert twin.example == "AMAN JAYA 3 COBLOS AMAN"  # number alone is ambiguous for TWIN
    assert isinstance(parse(twin.example, assignments=TWIN), PhaseReport)


# --- one typo, never a wrong keyword ---------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "near"),
    [
        ("buka", "buka", True),
        ("buak", "buka", True),  # transposition
        ("bka", "buka", True),  # deletion
        ("bukka", "buka", True),  # insertion
        ("bika", "buka", True),  # substitution
        ("hitng", "hitung", True),
        ("selsai", "selesai", True),
        ("bkau", "buka", False),  # two edits
        ("abuk", "buka", False),
        ("hitunggg", "hitung", False),
        ("", "a", True),
        ("", "ab", False),
    ],
)
def test_one_edit_is_damerau_levenshtein_distance_one(a: str, b: str, near: bool) -> None:
    assert within_one_edit(a, b) is near
    assert within_one_edit(b, a) is near


def _one_edit_variants(word: str) -> set[str]:
    letters = string.ascii_lowercase
    out = {word[:i] + word[i + 1 :] for i in range(len(word))}
    out |= {word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1)}
    out |= {word[:i] + c + word[i + 1 :] for i in range(len(word)) for c in letters}
    out |= {word[:i] + c + word[i:] for i in range(len(word) + 1) for c in letters}
    return out - {word}


def test_a_typo_of_a_keyword_reads_as_that_keyword_or_is_refused_never_as_another() -> None:
    # Every one-edit variant (deletion, transposition, substitution, insertion) of every phase and
    # situation keyword of four letters or more, after "TPS 3": it reads exactly as the keyword
    # does, or it is refused as one edit from two keywords. Reading it as another keyword would
    # store a phase or situation nobody reported.
    refused = 0
    for keyword in sorted({*PHASE_CUES, *SITUATION_WORDS}):
        if len(keyword) < TYPO_MIN:
            continue
        meant = parse(f"TPS 3 {keyword}", assignments=SOLO)
        assert isinstance(meant, PhaseReport)
        for variant in sorted(_one_edit_variants(keyword) - KNOWN):
            result = parse(f"TPS 3 {variant}", assignments=SOLO)
            if isinstance(result, PhaseReport):
                assert (result.phase, result.situation) == (meant.phase, meant.situation), variant
            else:
                assert isinstance(result, Refusal), (variant, result)
                if result.reason_id == RefusalReason.NO_KEYWORD:
                    # "menuuu" is read as the known word MENU ("amaaan" as AMAN): not a typo.
                    assert re.search(r"(.)\1\1", variant), variant
                    continue
                assert result.reason_id == RefusalReason.AMBIGUOUS_WORD, (variant, result)
                assert keyword.upper() in result.options
                refused += 1
    assert refused > 0  # some typos do sit between two keywords (RAWAL: RAWAN or KAWAL)


def test_short_keywords_accept_no_typo() -> None:
    for word in ("ppl", "pk", "sis", "so"):
        result = parse(f"TPS 3 {word}", assignments=SOLO)
        assert isinstance(result, Refusal), word
    assert isinstance(parse("TPS 3 ppk", assignments=SOLO), PhaseReport)


def test_a_typo_one_edit_from_two_keywords_is_refused_naming_both() -> None:
    result = parse("tps 3 rawal", assignments=SOLO)
    assert isinstance(result, Refusal)
    assert result.reason_id == RefusalReason.AMBIGUOUS_WORD
    assert result.options == ("KAWAL", "RAWAN")
    [text] = reply(result)
    assert "rawal" in text
    assert "KAWAL atau RAWAN" in text


# --- identity and tallies --------------------------------------------------------------------


def test_a_name_in_the_message_changes_nothing_and_is_never_kept() -> None:
    named = parse("Bripka Joko Susanto NRP 85010123 TPS 3 coblos aman", assignments=SOLO)
    plain = parse("TPS 3 coblos aman", assignments=SOLO)
    assert named == plain
    for model in (PhaseReport, IncidentReport, Sos, StatusQuery, Enrol, Refusal):
        assert not {"officer", "name", "nrp", "sender"} & set(model.model_fields)


def test_a_tally_result_carries_nothing_of_the_counts() -> None:
    result = parse("TPS 3 selesai hitung, paslon 1: 120 paslon 2: 98", assignments=SOLO)
    assert result == TallyRefused()
    assert set(TallyRefused.model_fields) == {"kind"}
    assert "120" not in PARSE_RESULT_ADAPTER.dump_json(result).decode()
    [text] = reply(result)
    assert "tidak mencatat hasil suara" in text


# --- never raises, always one of the results -------------------------------------------------

_VOCAB = [
    *sorted({*PHASE_CUES, *SITUATION_WORDS}),
    "tps",
    "TPS",
    "insiden",
    "sos",
    "status",
    "bantuan",
    "daftar",
    "paslon",
    "suara",
    "sah",
    "tidak",
    "belum",
    "nihil",
    "siap",
    "86",
    "ndan",
    "aman jaya",
    "suka raja",
    "tanjung kemala barat",
    "kurungan nyawa ii",
    "ricuh",
    "demo",
    "politik uang",
    "sev",
    "tingkat",
    "berat",
    "jam 07.00",
    "13:30",
    "27/11",
    "16.08.01.1007-003",
    "1608011007003",
    "16.08.01.1007-000",
    "081234567890",
    "orang",
]
_TOKENS = st.one_of(
    st.sampled_from(_VOCAB),
    st.integers(min_value=0, max_value=100_000).map(str),
    st.sampled_from(list(",.;:!-/#?=*_ \n\t")),
    st.text(max_size=6),
)
_MESSAGES = st.one_of(
    st.lists(_TOKENS, max_size=25).map(" ".join),
    st.lists(_TOKENS, max_size=25).map("".join),
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=50),
)
_ASSIGNMENTS = st.sampled_from([(), SOLO, JOKO, TWIN])


def _assert_fits_sms(parts: list[str]) -> None:
    assert parts
    for part in parts:
        septets = gsm7_septets(part)
        assert septets is not None, f"not GSM-7: {part!r}"
        assert septets <= SMS_PART, f"{septets} septets: {part!r}"


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_MESSAGES, assignments=_ASSIGNMENTS)
def test_parse_never_raises_and_always_answers_with_a_command_or_a_refusal(
    text: str, assignments: tuple[TpsRef, ...]
) -> None:
    result = parse(text, assignments=assignments)
    assert isinstance(
        result,
        PhaseReport
        | IncidentReport
        | CustodyReport
        | Sos
        | StatusQuery
        | Help
        | Enrol
        | TallyRefused
        | Refusal,
    )
    if isinstance(result, PhaseReport):
        assert result.phase is not None or result.situation is not None  # something to store
    # Whatever it is, it is a valid wire value and its reply fits SMS in both languages.
    assert PARSE_RESULT_ADAPTER.validate_json(PARSE_RESULT_ADAPTER.dump_json(result)) == result
    _assert_fits_sms(reply(result))
    _assert_fits_sms(reply(result, lang="en"))


@pytest.mark.parametrize(
    "text",
    [
        "TPS 3 coblos aman " + "antrean panjang sekali " * 5000,
        "INSIDEN 3 RICUH 2 " + "massa " * 5000,
        "SOS " + "tolong " * 5000,
        "tps 3 \x00coblos\x07 aman\x1b[31m \x00catatan\x00",
        "tps 3 coblos aman \ud800\udfff lone surrogates",
        "tps 3 coblos aman \u200b\u200f\u2028\ufeff",
        "tps 3 coblos aman 😀👮‍♂️🇮🇩 \U0010ffff",
        "tps ⓻ aman ² ١٦ ៣ coblos",  # digits to Unicode, not TPS numbers
        "\x00" * 10_000,
        "9" * 10_000,
        "tps " + "3 " * 5000,
        "aman " * 10_000,
        "16.08.01.1007-003 " * 1000,
        "sos" * 10_000,
    ],
)
def test_hostile_text_is_read_within_the_schema_limits(text: str) -> None:
    result = parse(text, assignments=SOLO)
    PARSE_RESULT_ADAPTER.validate_python(result.model_dump())
    if isinstance(result, PhaseReport) and result.note is not None:
        assert len(result.note) <= NOTE_MAX
        assert "\x00" not in result.note
        result.note.encode("utf-8")  # no lone surrogates: storable as text
    if isinstance(result, IncidentReport | Sos):
        result.text.encode("utf-8")
        assert "\x00" not in result.text
    _assert_fits_sms(reply(result))


# --- replies ---------------------------------------------------------------------------------


def test_every_reply_to_the_table_is_gsm7_and_fits_one_sms_per_part() -> None:
    for _, _, result in _table_results():
        for lang in ("id", "en"):
            parts = reply(result, lang=lang)
            _assert_fits_sms(parts)
            assert len(parts) <= (3 if isinstance(result, Help) else 1)


def test_every_refusal_reply_names_what_was_not_understood_and_the_example() -> None:
    # Quoted words may be shortened to fit, but never below 20 characters or the whole of them.
    checked = 0
    for _, _, result in _table_results():
        if not isinstance(result, Refusal):
            continue
        for lang in ("id", "en"):
            [text] = reply(result, lang=lang)
            assert to_gsm7(result.detail)[:20] in text, (result, text)
            assert result.example in text, (result, text)
            checked += 1
    assert checked > 100


def test_the_grammar_fits_in_three_sms() -> None:
    for lang in ("id", "en"):
        parts = reply(Help(), lang=lang)
        assert len(parts) == 3
        _assert_fits_sms(parts)
        assert parts == list(HELP_TEXT[lang])


def test_the_grammar_reply_teaches_messages_that_parse() -> None:
    # The examples the help text gives are themselves understood.
    assert parse("TPS 3 COBLOS AMAN catatan", assignments=SOLO) == PhaseReport(
        tps=C1, phase=Phase.PEMUNGUTAN, situation=Situation.AMAN, note="catatan"
    )
    incident = parse("INSIDEN 3 RICUH 2 uraian", assignments=SOLO)
    assert isinstance(incident, IncidentReport)
    words = ["RICUH", "DEMO", "POLITIKUANG", "INTIMIDASI", "LOGISTIK", "BENCANA", "LAKA", "LAIN"]
    categories = {w: parse(f"INSIDEN 3 {w} 2 uraian", assignments=SOLO) for w in words}
    assert {r.category for r in categories.values() if isinstance(r, IncidentReport)} == set(
        IncidentCategory
    )
    for word in ["LOGISTIK", "SIAP", "BUKA", "HITUNG", "SELESAI", "KAWAL", "PPK", "TUNDA"]:
        result = parse(f"TPS 3 {word}", assignments=SOLO)
        assert isinstance(result, PhaseReport) and result.phase is not None, word
    assert {
        p.phase
        for w in ["LOGISTIK", "SIAP", "BUKA", "HITUNG", "SELESAI", "KAWAL", "PPK", "TUNDA"]
        if isinstance(p := parse(f"TPS 3 {w}", assignments=SOLO), PhaseReport)
    } == set(Phase)
    assert isinstance(parse("SOS uraian", assignments=SOLO), Sos)
    assert parse("STATUS", assignments=SOLO) == StatusQuery()
    # The third part: every ballot-box step, as the help text writes it.
    boxes = HELP_TEXT["id"][2].split(": ", 1)[1]
    examples = [e.strip() for e in boxes.split(". ") if e.strip()]
    steps = {
        r.step
        for e in examples
        if isinstance(r := parse(e.rstrip("."), assignments=SOLO), CustodyReport)
    }
    assert len(examples) == 4
    assert steps == set(CustodyStep)


def test_a_stored_report_is_answered_with_what_was_stored() -> None:
    report = parse("tps 3 hitung waspada antrean panjang", assignments=SOLO)
    [text] = reply(report)
    assert text == (
        f"Tercatat TPS {C1}: fase PENGHITUNGAN, situasi WASPADA. Catatan: antrean panjang"
    )
    [situation_only] = reply(parse("tps 3 aman", assignments=SOLO))
    assert situation_only == f"Tercatat TPS {C1}: situasi AMAN (fase tetap)"
    [english] = reply(parse("tps 3 coblos", assignments=SOLO), lang="en")
    assert english == f"Stored TPS {C1}: phase voting (situation unchanged)"
    [summary] = reply(report, stored_summary="TPS 3 Dusun Martapura: PENGHITUNGAN, WASPADA")
    assert summary == "Tercatat: TPS 3 Dusun Martapura: PENGHITUNGAN, WASPADA"


def test_a_refusal_reply_quotes_what_was_not_understood_and_gives_an_example() -> None:
    refusal = parse("TPS 3 antrean panjang tapi aman", assignments=SOLO)
    [text] = reply(refusal)
    assert "'antrean panjang tapi aman'" in text
    assert text.endswith("Contoh: TPS 3 COBLOS AMAN")
    [not_mine] = reply(parse("tps 7 coblos", assignments=JOKO))
    assert not_mine == "TPS 7 bukan tugas Anda. TPS Anda: 5, 6, 12. Contoh: TPS 5 COBLOS AMAN"
    [twin] = reply(parse("tps 3 coblos aman", assignments=TWIN))
    assert "Aman Jaya 3 atau Suka Raja 3" in twin
    [unsafe] = reply(parse("tps 3 tidak aman", assignments=SOLO))
    assert unsafe.endswith("Contoh: TPS 3 WASPADA")
    [negated] = reply(parse("tps 3 belum buka", assignments=SOLO))
    assert (
        negated == "'belum buka' tidak dicatat: kirim yang sudah terjadi. Contoh: TPS 3 SIAP AMAN"
    )


def test_the_officers_words_echoed_back_are_made_gsm7_and_shortened() -> None:
    long_note = "antrean \u201cpanjang\u201d sekali 😀 \u2014 warga sabar " * 20
    [text] = reply(parse(f"TPS 3 coblos aman {long_note}", assignments=SOLO))
    _assert_fits_sms([text])
    assert text.endswith("..")
    assert '"panjang"' in text
    [odd] = reply(parse("TPS 3 {[€]} ~ ^ | \\", assignments=SOLO))
    _assert_fits_sms([odd])


def test_a_long_status_summary_is_split_between_words_into_at_most_three_sms() -> None:
    summary = "; ".join(
        f"TPS {n} Tanjung Kemala Barat: PENGHITUNGAN, AMAN 14:{n:02d}" for n in range(12)
    )
    parts = reply(StatusQuery(), stored_summary=summary)
    assert 1 < len(parts) <= 3
    _assert_fits_sms(parts)
    assert parts[0].startswith("Status TPS 0 Tanjung Kemala Barat")
    assert reply(StatusQuery()) == ["Status belum tersedia. Coba lagi sebentar."]


def test_replies_to_channel_decisions_fit_and_tell_the_way_forward() -> None:
    unknown = Refusal(reason_id=RefusalReason.UNKNOWN_SENDER, detail="", example="DAFTAR 482913")
    [text] = reply(unknown)
    assert "DAFTAR 482913" in text
    rejected = Refusal(reason_id=RefusalReason.ENROL_REJECTED, detail="482913", example="")
    [text] = reply(rejected)
    assert "482913" in text
    first = Refusal(reason_id=RefusalReason.FIRST_REPORT, detail="3", example="TPS 3 SIAP AMAN")
    [text] = reply(first)
    assert text == "TPS 3 belum punya laporan: kirim fase dan situasi. Contoh: TPS 3 SIAP AMAN"
    assert isinstance(parse(first.example, assignments=SOLO), PhaseReport)
    [enrolled] = reply(Enrol(code="482913"), stored_summary="Bripka Joko Susanto")
    assert enrolled == "Terdaftar: Bripka Joko Susanto. Kirim BANTUAN untuk panduan lapor."
    for result in (unknown, rejected, first, Enrol(code="482913"), Sos(text="x" * 2000, tps=C1)):
        for lang in ("id", "en"):
            _assert_fits_sms(reply(result, lang=lang, stored_summary="é" * 400))


@pytest.mark.parametrize(
    ("text", "gsm"),
    [
        ("TPS 3 aman", "TPS 3 aman"),
        ("\u201ckutip\u201d \u2018satu\u2019 \u2013 \u2026", "\"kutip\" 'satu' - ..."),
        ("café señor Ñ", "café señor Ñ"),  # in the GSM alphabet
        ("mañana ç ő ł", "mañana c o"),  # ç→c, ő→o (NFKD); ł has no GSM base: dropped
        ("emoji 😀 gone", "emoji gone"),
        ("tab\tand\nnewline", "tab and newline"),
    ],
)
def test_text_is_transliterated_to_the_gsm7_alphabet(text: str, gsm: str) -> None:
    assert to_gsm7(text) == gsm
    assert gsm7_septets(gsm) is not None


def test_gsm7_counts_the_extension_table_as_two_septets() -> None:
    assert gsm7_septets("abc") == 3
    assert gsm7_septets("[x]") == 5
    assert gsm7_septets("€") == 2
    assert gsm7_septets("😀") is None
    assert gsm7_septets("ç") is None  # only Ç (capital) is in the default alphabet
