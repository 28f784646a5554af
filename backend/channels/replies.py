"""The one reply to each officer message, written so that it goes out as plain SMS.

Every part is GSM-7 (the SMS default alphabet: no emoji, no curly quotes) and at most 160 septets,
so each part is one SMS of its own; the grammar (BANTUAN) takes three. A refusal names what was not
understood and gives a message that would be. The officer's own words that are echoed back are
transliterated to GSM-7 and shortened to fit. Bahasa Indonesia by default, English on request.
"""

import unicodedata
from collections.abc import Sequence
from typing import Literal

from schemas.channels import (
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
)
from schemas.enums import CustodyStep, IncidentCategory, Phase, Situation

Lang = Literal["id", "en"]
SMS_PART = 160  # septets in one SMS that is not concatenated
STATUS_PARTS = 3  # a status of several TPS may take this many SMS

# GSM 03.38 default alphabet (one septet each) and its extension table (two septets each: the
# escape and the character). ESC itself is not content.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
_LOOKALIKES = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2026": "...",
    "\u2022": "-",
    "\t": " ",
    "\n": " ",
    "\r": " ",
    "\f": " ",
}


def gsm7_septets(text: str) -> int | None:
    """Septets `text` takes in the GSM-7 alphabet, or None if a character is not in it."""
    total = 0
    for c in text:
        if c in GSM7_BASIC:
            total += 1
        elif c in GSM7_EXTENSION:
            total += 2
        else:
            return None
    return total


def to_gsm7(text: str) -> str:
    """`text` in the GSM-7 alphabet on one line: accents dropped where needed, emoji removed."""
    out: list[str] = []
    for c in text:
        if c in _LOOKALIKES:
            out.append(_LOOKALIKES[c])
        elif c in GSM7_BASIC or c in GSM7_EXTENSION:
            out.append(c)
        else:
            out.extend(b for b in unicodedata.normalize("NFKD", c) if b in GSM7_BASIC)
    return " ".join("".join(out).split())


def _cut(text: str, limit: int) -> str:
    """`text` shortened to `limit` septets, ending in '..' when shortened."""
    if (gsm7_septets(text) or 0) <= limit:
        return text
    out, used = [], 0
    for c in text:
        cost = 2 if c in GSM7_EXTENSION else 1
        if used + cost > limit - 2:
            break
        out.append(c)
        used += cost
    return "".join(out).rstrip() + ".."


def _fill(template: str, flex: str = "", **fixed: str) -> str:
    """`template` with its slots; `{flex}` (the officer's words) shortened so it fits one SMS."""
    bare = template.format(flex="", **fixed)
    room = SMS_PART - (gsm7_septets(bare) or 0)
    return _cut(template.format(flex=_cut(to_gsm7(flex), max(room, 3)), **fixed), SMS_PART)


def _split(text: str, parts: int) -> list[str]:
    """`text` in at most `parts` SMS, broken between words."""
    out: list[str] = []
    words = text.split(" ")
    line = ""
    for word in words:
        candidate = f"{line} {word}" if line else word
        if (gsm7_septets(candidate) or 0) <= SMS_PART:
            line = candidate
            continue
        out.append(line)
        line = _cut(word, SMS_PART)
    if line:
        out.append(line)
    if len(out) > parts:
        out = [*out[: parts - 1], _cut(" ".join(out[parts - 1 :]), SMS_PART)]
    return out or [""]


PHASE_NAMES: dict[Phase, tuple[str, str]] = {
    Phase.LOGISTIK_TIBA: ("LOGISTIK TIBA", "logistics arrived"),
    Phase.PERSIAPAN: ("PERSIAPAN", "preparation"),
    Phase.PEMUNGUTAN: ("PEMUNGUTAN", "voting"),
    Phase.PENGHITUNGAN: ("PENGHITUNGAN", "counting"),
    Phase.SELESAI_HITUNG: ("SELESAI HITUNG", "count done"),
    Phase.KOTAK_DIKAWAL: ("KOTAK DIKAWAL", "boxes escorted"),
    Phase.DITERIMA_PPK: ("DITERIMA PPK", "received by PPK"),
    Phase.DITUNDA: ("DITUNDA", "postponed"),
}
SITUATION_NAMES: dict[Situation, tuple[str, str]] = {
    Situation.AMAN: ("AMAN", "safe"),
    Situation.WASPADA: ("WASPADA", "alert"),
    Situation.GANGGUAN: ("GANGGUAN", "disturbance"),
}
CATEGORY_NAMES: dict[IncidentCategory, tuple[str, str]] = {
    IncidentCategory.KERICUHAN: ("KERICUHAN", "unrest"),
    IncidentCategory.UNJUK_RASA: ("UNJUK RASA", "protest"),
    IncidentCategory.POLITIK_UANG: ("POLITIK UANG", "money politics"),
    IncidentCategory.INTIMIDASI: ("INTIMIDASI", "intimidation"),
    IncidentCategory.LOGISTIK: ("LOGISTIK", "logistics"),
    IncidentCategory.BENCANA_CUACA: ("BENCANA/CUACA", "disaster/weather"),
    IncidentCategory.KECELAKAAN: ("KECELAKAAN", "accident"),
    IncidentCategory.LAINNYA: ("LAINNYA", "other"),
}

CUSTODY_NAMES: dict[CustodyStep, tuple[str, str]] = {
    CustodyStep.SEGEL: ("kotak DISEGEL", "boxes SEALED"),
    CustodyStep.BERANGKAT: ("kotak BERANGKAT ke PPK", "boxes LEFT for the PPK"),
    CustodyStep.TIBA: ("kotak TIBA di PPK", "boxes ARRIVED at the PPK"),
    CustodyStep.SERAH_TERIMA: ("kotak DISERAHKAN ke PPK", "boxes HANDED OVER to the PPK"),
}

HELP_TEXT: dict[Lang, tuple[str, str, str]] = {
    "id": (
        "POSKO 1/3 Lapor: TPS 3 COBLOS AMAN catatan. Fase: LOGISTIK SIAP BUKA HITUNG SELESAI "
        "KAWAL PPK TUNDA. Situasi: AMAN WASPADA GANGGUAN. TPS: nomor atau kode.",
        "2/3 INSIDEN 3 RICUH 2 uraian (RICUH DEMO POLITIKUANG INTIMIDASI LOGISTIK BENCANA LAKA "
        "LAIN; tingkat 1-4). SOS uraian. STATUS. Hasil suara tidak dicatat.",
        "3/3 Kotak suara: SEGEL 3 SG-001 SG-002. BERANGKAT 3 BG 1234 XY. TIBA 3 PPK. "
        "SERAH 3 017/BA-PPK nama penerima.",
    ),
    "en": (
        "POSKO 1/3 Report: TPS 3 COBLOS AMAN note. Phase: LOGISTIK SIAP BUKA HITUNG SELESAI "
        "KAWAL PPK TUNDA. Situation: AMAN WASPADA GANGGUAN. TPS: number or code.",
        "2/3 INSIDEN 3 RICUH 2 text (RICUH DEMO POLITIKUANG INTIMIDASI LOGISTIK BENCANA LAKA "
        "LAIN; level 1-4). SOS text. STATUS. Vote results are not recorded.",
        "3/3 Ballot boxes: SEGEL 3 SG-001 SG-002. BERANGKAT 3 BG 1234 XY. TIBA 3 PPK. "
        "SERAH 3 017/BA-PPK receiver's name.",
    ),
}

# Templates: (Bahasa Indonesia, English). `{flex}` is the officer's words, shortened to fit.
_T: dict[str, tuple[str, str]] = {
    "stored": ("Tercatat {tps}: {flex}", "Stored {tps}: {flex}"),
    "stored_summary": ("Tercatat: {flex}", "Stored: {flex}"),
    "phase": ("fase {name}", "phase {name}"),
    "situation": ("situasi {name}", "situation {name}"),
    "phase_kept": (" (situasi tetap)", " (situation unchanged)"),
    "situation_kept": (" (fase tetap)", " (phase unchanged)"),
    "note": (". Catatan: ", ". Note: "),
    "incident": (
        "Insiden tercatat {tps}: {cat} tingkat {sev}. {flex}",
        "Incident stored {tps}: {cat} level {sev}. {flex}",
    ),
    "custody": ("Tercatat {tps}: {what}. {flex}", "Stored {tps}: {what}. {flex}"),
    "seals": ("Segel: ", "Seals: "),
    "vehicle": ("Kendaraan: ", "Vehicle: "),
    "handover": ("BA {ba}, penerima ", "BA {ba}, received by "),
    "no_ba": (
        "TANPA nomor BA (Posko diberi tahu), penerima ",
        "NO BA number (flagged), received by ",
    ),
    "sos": (
        "SOS DITERIMA{tps}. Posko segera menghubungi Anda; kirim lokasi bila bisa. {flex}",
        "SOS RECEIVED{tps}. The command post will call you; send your location if you can. {flex}",
    ),
    "status": ("Status {flex}", "Status {flex}"),
    "status_none": (
        "Status belum tersedia. Coba lagi sebentar.",
        "No status yet. Try again shortly.",
    ),
    "enrol": (
        "Terdaftar{flex}. Kirim BANTUAN untuk panduan lapor.",
        "Enrolled{flex}. Send BANTUAN for how to report.",
    ),
    "tally": (
        "Posko tidak mencatat hasil suara; angka tidak disimpan. Laporkan fase dan situasi saja, "
        "contoh: TPS 3 HITUNG AMAN",
        "Posko does not record vote results; the numbers were not kept. Report phase and "
        "situation only, e.g. TPS 3 HITUNG AMAN",
    ),
}
_R: dict[tuple[RefusalReason, bool], tuple[str, str]] = {
    # (reason, variant): the variant is whether the refusal quotes the officer's words, or for
    # the TPS reasons whether the sender has TPS to list.
    (RefusalReason.EMPTY, True): (
        "'{flex}' bukan laporan. Contoh: {example}. Kirim BANTUAN untuk panduan.",
        "'{flex}' is not a report. Example: {example}. Send BANTUAN for help.",
    ),
    (RefusalReason.EMPTY, False): (
        "Pesan kosong. Contoh: {example}. Kirim BANTUAN untuk panduan.",
        "Empty message. Example: {example}. Send BANTUAN for help.",
    ),
    (RefusalReason.NO_KEYWORD, True): (
        "Tidak dimengerti: '{flex}'. Fase/situasi dulu, catatan sesudahnya. Contoh: {example}",
        "Not understood: '{flex}'. Phase/situation first, then the note. Example: {example}",
    ),
    (RefusalReason.NO_KEYWORD, False): (
        "Fase atau situasi tidak ada. Contoh: {example}",
        "No phase or situation. Example: {example}",
    ),
    (RefusalReason.AMBIGUOUS_WORD, True): (
        "'{flex}' bisa {options}. Tulis yang dimaksud, contoh: {example}",
        "'{flex}' could be {options}. Write the one you mean, e.g. {example}",
    ),
    (RefusalReason.CONFLICTING_PHASE, True): (
        "'{flex}' tidak jelas: HITUNG bila penghitungan mulai, SELESAI bila selesai. "
        "Contoh: {example}",
        "'{flex}' is unclear: HITUNG if counting started, SELESAI if done. Example: {example}",
    ),
    (RefusalReason.NEGATED, True): (
        "'{flex}' tidak dicatat: kirim yang sudah terjadi. Contoh: {example}",
        "'{flex}' not stored: send what has happened. Example: {example}",
    ),
    (RefusalReason.TPS_MISSING, True): (
        "TPS tidak disebut. TPS Anda: {options}. Contoh: {example}",
        "No TPS named. Your TPS: {options}. Example: {example}",
    ),
    (RefusalReason.TPS_MISSING, False): (
        "TPS tidak disebut: tulis kode TPS lengkap. Contoh: {example}",
        "No TPS named: write the full TPS code. Example: {example}",
    ),
    (RefusalReason.TPS_NOT_ASSIGNED, True): (
        "TPS {flex} bukan tugas Anda. TPS Anda: {options}. Contoh: {example}",
        "TPS {flex} is not yours. Your TPS: {options}. Example: {example}",
    ),
    (RefusalReason.TPS_NOT_ASSIGNED, False): (
        "TPS {flex} bukan tugas Anda: tulis kode TPS lengkap. Contoh: {example}",
        "TPS {flex} is not yours: write the full TPS code. Example: {example}",
    ),
    (RefusalReason.TPS_AMBIGUOUS, True): (
        "TPS '{flex}' bisa {options}: tulis desa dan nomor. Contoh: {example}",
        "TPS '{flex}' could be {options}: write desa and number. Example: {example}",
    ),
    (RefusalReason.TPS_INVALID, True): (
        "'{flex}' bukan nomor atau kode TPS. Contoh: {example}",
        "'{flex}' is not a TPS number or code. Example: {example}",
    ),
    (RefusalReason.MULTIPLE_TPS, True): (
        "Satu pesan untuk satu TPS: '{flex}'. Kirim terpisah, contoh: {example}",
        "One message per TPS: '{flex}'. Send them apart, e.g. {example}",
    ),
    (RefusalReason.INCIDENT_CATEGORY, True): (
        "Kategori '{flex}' tidak dikenal. Pilih {options}. Contoh: {example}",
        "Unknown category '{flex}'. Choose {options}. Example: {example}",
    ),
    (RefusalReason.INCIDENT_CATEGORY, False): (
        "Kategori insiden tidak ada. Pilih {options}. Contoh: {example}",
        "No incident category. Choose {options}. Example: {example}",
    ),
    (RefusalReason.INCIDENT_SEVERITY, False): (
        "Tingkat insiden (1-4) tidak ada. Contoh: {example}",
        "No incident level (1-4). Example: {example}",
    ),
    (RefusalReason.INCIDENT_SEVERITY, True): (
        "Tingkat insiden tidak ada: '{flex}'. Tulis 1-4 (1 ringan, 4 kritis). Contoh: {example}",
        "No incident level: '{flex}'. Write 1-4 (1 minor, 4 critical). Example: {example}",
    ),
    (RefusalReason.INCIDENT_TEXT, False): (
        "Uraian insiden kosong. Contoh: {example}",
        "The incident has no description. Example: {example}",
    ),
    (RefusalReason.ENROL_CODE, True): (
        "Kode daftar tidak terbaca: '{flex}'. Tulis 6 angka dari lembar pendaftaran. "
        "Contoh: {example}",
        "Enrolment code not readable: '{flex}'. Write the 6 digits from the sheet. "
        "Example: {example}",
    ),
    (RefusalReason.CUSTODY_FIELDS, True): (
        "'{flex}' kurang lengkap. Contoh: {example}",
        "'{flex}' is incomplete. Example: {example}",
    ),
    (RefusalReason.UNKNOWN_SENDER, False): (
        "Nomor ini belum terdaftar di Posko. Kirim DAFTAR dan 6 angka kode dari lembar "
        "pendaftaran, contoh: DAFTAR 482913",
        "This number is not enrolled. Send DAFTAR and the 6-digit code from your enrolment "
        "sheet, e.g. DAFTAR 482913",
    ),
    (RefusalReason.FIRST_REPORT, True): (
        "TPS {flex} belum punya laporan: kirim fase dan situasi. Contoh: {example}",
        "TPS {flex} has no report yet: send phase and situation. Example: {example}",
    ),
    (RefusalReason.ENROL_REJECTED, True): (
        "Kode {flex} tidak berlaku atau sudah dipakai. Minta kode baru ke operator Posko.",
        "Code {flex} is not valid or already used. Ask the command post for a new one.",
    ),
}
_OR = {"id": " atau ", "en": " or "}


def _t(key: str, lang: Lang) -> str:
    return _T[key][lang == "en"]


def reply(
    result: Command | Refusal, *, lang: Lang = "id", stored_summary: str | None = None
) -> list[str]:
    """The reply to one message, as SMS parts (GSM-7, 160 septets each).

    `stored_summary` is the channel's own account of what it did (the status it read, the
    officer an enrolment code bound, "claim awaiting confirmation" ...); it replaces the
    default description of what was stored.
    """
    en = lang == "en"
    match result:
        case Refusal():
            return [_refusal(result, lang)]
        case Help():
            return list(HELP_TEXT[lang])
        case TallyRefused():
            return [_t("tally", lang)]
        case StatusQuery():
            if stored_summary is None:
                return [_t("status_none", lang)]
            return _split(_t("status", lang).format(flex=to_gsm7(stored_summary)), STATUS_PARTS)
        case _ if stored_summary is not None and not isinstance(result, Sos | Enrol):
            return [_fill(_t("stored_summary", lang), stored_summary)]
        case PhaseReport():
            return [_fill(_t("stored", lang), _what(result, lang), tps=f"TPS {result.tps}")]
        case CustodyReport():
            what = CUSTODY_NAMES[result.step][en]
            return [
                _fill(
                    _t("custody", lang),
                    _custody_detail(result, lang),
                    tps=f"TPS {result.tps}",
                    what=what,
                ).rstrip(" .")
            ]
        case IncidentReport():
            tps = f"TPS {result.tps}" if result.tps else "-"
            cat = CATEGORY_NAMES[result.category][en]
            sev = str(result.severity)
            return [_fill(_t("incident", lang), result.text, tps=tps, cat=cat, sev=sev)]
        case Sos():
            tps = f" TPS {result.tps}" if result.tps else ""
            return [_fill(_t("sos", lang), stored_summary or "", tps=tps).rstrip()]
        case Enrol():
            who = f": {stored_summary}" if stored_summary else ""
            return [_fill(_t("enrol", lang), who)]
    raise TypeError(f"no reply for {type(result).__name__}")  # pragma: no cover


def _custody_detail(report: CustodyReport, lang: Lang) -> str:
    if report.seal_numbers:
        return _t("seals", lang) + " ".join(report.seal_numbers)
    if report.vehicle:
        return _t("vehicle", lang) + report.vehicle
    if report.receiver_name:
        if report.ba_number:
            return _t("handover", lang).format(ba=report.ba_number) + report.receiver_name
        return _t("no_ba", lang) + report.receiver_name
    return ""


def _what(report: PhaseReport, lang: Lang) -> str:
    en = lang == "en"
    parts = []
    if report.phase is not None:
        parts.append(_t("phase", lang).format(name=PHASE_NAMES[report.phase][en]))
    if report.situation is not None:
        parts.append(_t("situation", lang).format(name=SITUATION_NAMES[report.situation][en]))
    what = ", ".join(parts)
    if report.phase is None:
        what += _t("situation_kept", lang)
    elif report.situation is None:
        what += _t("phase_kept", lang)
    if report.note:
        what += _t("note", lang) + report.note
    return what


def _refusal(refusal: Refusal, lang: Lang) -> str:
    reason = refusal.reason_id
    lists_mine = reason in (RefusalReason.TPS_MISSING, RefusalReason.TPS_NOT_ASSIGNED)
    variant = bool(refusal.options if lists_mine else refusal.detail)
    template = _R.get((reason, variant)) or _R[(reason, not variant)]
    options = _options(refusal.options, refusal.reason_id, lang)
    return _fill(
        template[lang == "en"],
        refusal.detail,
        options=to_gsm7(options),
        example=to_gsm7(refusal.example),
    )


def _options(options: Sequence[str], reason: RefusalReason, lang: Lang) -> str:
    if reason in (RefusalReason.AMBIGUOUS_WORD, RefusalReason.TPS_AMBIGUOUS):
        return _OR[lang].join(options)
    if reason is RefusalReason.INCIDENT_CATEGORY:
        return " ".join(options)  # keywords, as the officer would type them
    shown = ", ".join(options[:8])
    return shown + (", ..." if len(options) > 8 else "")
