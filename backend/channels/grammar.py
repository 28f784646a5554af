"""One grammar for every text channel: an officer's chat or SMS message in, its meaning out.

Officers type on keypads in a hurry. The grammar forgives what cannot mislead (case, punctuation,
extra spaces, greetings and ranks before the report, SMS abbreviations, one typo in a keyword of
four letters or more) and refuses what it cannot be sure of, naming it: a number that is none of
the sender's TPS, a typo one edit from two keywords, phases that contradict each other, a negated
keyword. Keywords lead the message; the free text after them is the note. A phase once stored
never rolls back, so a guess here could not be undone by the officer's next message: hence exact.

Pure: no I/O, no clock, no database; it runs on the event loop for every message. The sender's
assigned TPS come in (`TpsRef`), and a message is never attributed by a name it contains.
"""

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Literal, NamedTuple, TypeVar

from schemas.channels import (
    NOTE_MAX,
    TEXT_MAX,
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
from schemas.enums import (
    PHASE_RANK,
    SITUATION_RANK,
    CustodyStep,
    IncidentCategory,
    Phase,
    Situation,
)

MAX_INPUT = 4000  # characters read: a concatenated SMS is at most ~1,530, a chat message longer
DETAIL_MAX = 40  # characters of the officer's words quoted back in a refusal
TYPO_MIN = 4  # keywords this long or longer accept one typo; shorter ones (PPK, SOS) are exact
EXAMPLE_CODE = "16.08.01.1007-003"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


class _Cue(StrEnum):
    """A word's part in naming a phase; several cues make one phase (`_phase`)."""

    LOGISTIK = "logistik"
    TIBA = "tiba"
    SIAP = "siap"
    COBLOS = "coblos"
    MULAI = "mulai"
    HITUNG = "hitung"
    SELESAI = "selesai"
    KAWAL = "kawal"
    PPK = "ppk"
    TERIMA = "terima"
    TUNDA = "tunda"


class _Cmd(StrEnum):
    SOS = "sos"
    HELP = "help"
    ENROL = "enrol"
    STATUS = "status"
    INCIDENT = "incident"


K = TypeVar("K")


def _table(groups: dict[K, str]) -> dict[str, K]:
    return {word: key for key, words in groups.items() for word in words.split()}


# Phase cues. Left out: "pembukaan" ("pembukaan kotak suara" starts the count, not the vote) and
# "antar" ("bentrok antar pendukung": between).
PHASE_CUES: dict[str, _Cue] = _table(
    {
        _Cue.LOGISTIK: "logistik",
        _Cue.TIBA: "tiba datang dtg sampai sampe nyampe",
        _Cue.SIAP: "siap persiapan disiapkan persiapkan dipersiapkan menyiapkan",
        _Cue.COBLOS: "buka dibuka coblos dicoblos pencoblosan nyoblos mencoblos pemungutan pungut",
        _Cue.MULAI: "mulai dimulai",
        _Cue.HITUNG: "hitung dihitung menghitung penghitungan perhitungan itung ngitung",
        _Cue.SELESAI: "selesai beres rampung tuntas usai",
        _Cue.KAWAL: "kawal dikawal mengawal pengawalan diantar mengantar pengantaran menuju otw "
        "dibawa digeser dikirim",
        _Cue.PPK: "ppk",
        _Cue.TERIMA: "terima diterima penerimaan serah diserahkan penyerahan serahterima",
        _Cue.TUNDA: "tunda ditunda tertunda penundaan pending",
    }
)
# "rawan" is the officer's judgement of now, so waspada (the TPS's registered risk rating is another
# matter); "siaga" is left out: "personel siaga" is ordinary duty.
SITUATION_WORDS: dict[str, Situation] = _table(
    {
        Situation.AMAN: "aman kondusif normal",
        Situation.WASPADA: "waspada rawan tegang memanas",
        Situation.GANGGUAN: "gangguan ricuh kericuhan rusuh kerusuhan bentrok bentrokan ribut "
        "keributan kacau chaos anarkis onar",
    }
)
# Trouble in general: "tidak ada kendala" is aman; "ada kendala" alone says nothing to store.
TROUBLE = _words("kendala masalah hambatan kejadian insiden")
COMMANDS: dict[str, _Cmd] = _table(
    {
        _Cmd.SOS: "sos darurat tolong emergency",
        _Cmd.HELP: "bantuan help menu panduan petunjuk start",
        _Cmd.ENROL: "daftar registrasi",
        _Cmd.STATUS: "status cek",
        _Cmd.INCIDENT: "insiden kejadian incident lapsus",
    }
)
CATEGORY_WORDS: dict[str, IncidentCategory] = _table(
    {
        IncidentCategory.KERICUHAN: "ricuh kericuhan rusuh kerusuhan bentrok bentrokan ribut "
        "keributan perkelahian berkelahi tawuran onar keonaran anarkis kacau chaos",
        IncidentCategory.UNJUK_RASA: "demo demonstrasi unras unjukrasa",
        IncidentCategory.POLITIK_UANG: "politikuang moneypolitik amplop suap sogok sogokan",
        IncidentCategory.INTIMIDASI: "intimidasi ancaman ancam diancam mengancam teror diteror "
        "paksa dipaksa pemaksaan",
        IncidentCategory.LOGISTIK: "logistik",
        IncidentCategory.BENCANA_CUACA: "bencana cuaca banjir hujan angin longsor badai gempa "
        "kebakaran terbakar",
        IncidentCategory.KECELAKAAN: "kecelakaan laka lakalantas tabrakan",
        IncidentCategory.LAINNYA: "lainnya lain other dll",
    }
)
CATEGORY_PHRASES: dict[tuple[str, ...], IncidentCategory] = {
    ("unjuk", "rasa"): IncidentCategory.UNJUK_RASA,
    ("aksi", "massa"): IncidentCategory.UNJUK_RASA,
    ("politik", "uang"): IncidentCategory.POLITIK_UANG,
    ("money", "politik"): IncidentCategory.POLITIK_UANG,
    ("money", "politic"): IncidentCategory.POLITIK_UANG,
    ("money", "politics"): IncidentCategory.POLITIK_UANG,
    ("serangan", "fajar"): IncidentCategory.POLITIK_UANG,
    ("bagi", "uang"): IncidentCategory.POLITIK_UANG,
    ("bagi", "amplop"): IncidentCategory.POLITIK_UANG,
    ("bencana", "cuaca"): IncidentCategory.BENCANA_CUACA,
    ("pohon", "tumbang"): IncidentCategory.BENCANA_CUACA,
    ("puting", "beliung"): IncidentCategory.BENCANA_CUACA,
    ("laka", "lantas"): IncidentCategory.KECELAKAAN,
}
# "sedang" (2) only after a severity marker: alone it means "currently".
SEVERITY_WORDS: dict[str, int] = {"ringan": 1, "berat": 3, "kritis": 4, "parah": 4, "gawat": 4}
SEVERITY_MARKERS = _words("sev severity tingkat tkt level lvl skala prioritas prio bobot")
NEGATORS = _words(
    "belum blm blum blom tidak tdk tak ga gak gk nggak ngga enggak engga ndak bukan bkn "
    "hampir hmpr akan akn mau segera menunggu tunggu nunggu jangan nihil"
)
# Words that carry nothing between the TPS and the keywords ("sudah", "situasi", "di", ...).
FILLERS = _words(
    "sdh sudah sudh udah udh dah telah tlh sedang sdg lagi lg masih msh dalam dlm proses tahap "
    "tahapan fase status situasi sit kondisi kond keadaan suasana kamtibmas giat kegiatan "
    "pelaksanaan dilaksanakan berjalan berlangsung lancar terkendali tertib baik di ke dr dari "
    "pd pada dan serta dgn dengan yg yang utk untuk saat ini skrg sekarang pemilu pilkada pilpres "
    "pileg pemilihan suara kotak surat lokasi wilayah ada juga jg pun semua smua seluruh "
    "personel anggota kami saya sy tetap relatif cukup terpantau sementara pos posisi wib wita "
    "wit ok oke okey sip jam pukul pkl kembali bisa dpt dapat lanjut dilanjutkan lanjutkan "
    "masuk memasuki"
)
INCIDENT_FILLERS = _words(
    "di ke pd pada yg yang ada terjadi telah tlh sdh sudah kategori kat jenis tipe kasus "
    "insiden kejadian"
)
TPS_MARKERS = _words("tps no nomor nmr nr nomer")  # not "tp": that is "tapi" (but)
DESA_MARKERS = _words("desa ds kel kelurahan dusun dsn")
# A number followed by one of these counts something: it is never a TPS.
UNITS = _words(
    "orang org lembar lbr menit mnt jam km meter m kotak pemilih warga personel pers anggota "
    "kali persen unit buah bh kendaraan motor mobil kk jiwa rb ribu juta jt hari"
)
# Read before the report and dropped: greetings, Polri radio courtesy, ranks, "lapor".
PREFIXES = _words(
    "lapor laporan lapur melaporkan laporkan izin ijin ijn mohon minta butuh perlu ndan "
    "komandan dan pak bapak bpk bu ibu yth kpd kepada salam assalamualaikum assalamu alaikum "
    "wr wb wrwb selamat pagi siang sore malam update upd updt info monitor rilis pam pengamanan "
    "berikut kami saya sy ops bharada bharatu bharaka abripda abriptu abrip bripda briptu "
    "brigpol brigadir bripka aipda aiptu ipda iptu akp kompol akbp nrp halo hallo hai hi helo "
    "hello p"
)
THANKS = _words("makasih trims tks thx tq thanks")
# A question is not a report: these are never skipped as a name before the TPS.
QUESTIONS = _words("kapan apa apakah bagaimana gimana siapa dimana mana kenapa mengapa berapa")
ASKING = _words("minta mohon butuh perlu")  # "minta bantuan": backup, not the grammar
BACKUP = _words("bantuan backup tolong pertolongan")
COURTESY = _words("ndan komandan pak bapak bpk")  # also after the report: "TPS 3 aman ndan"
# What a help request may say beside its keyword ("bantuan cara lapor?").
HELP_WORDS = _words(
    "bantuan help menu panduan petunjuk format cara caranya lapor pesan sms kirim gimana "
    "bagaimana bgmn gmn info mohon minta tolong dong ya apa perintah kode pakai start"
)
# Ordinary words one edit from a keyword: never read as its typo (many are OKU Timur desa words).
STOPLIST = _words(
    "bukan buku suka duka tiga lama ribu main kain lalin ama amal amin iman awan taman kawan "
    "awal tanda siapa sial mulia rawa sampah antara dibawah barat marah demi jaman zaman paman "
    "lawan hutan ingin luka tegal anyar banjar bantan merah pandan raman ringin senu terang "
    "tunas kabau bantu"
)

# Vote tallies. "suara" after "surat" is a ballot paper (logistics), not a vote.
VOTE_WORDS = _words(
    "paslon pasangan capres cawapres cagub cawagub cabup cawabup cawalkot cawawalkot calon "
    "kandidat caleg partai urut suara sah hasil perolehan rekap rekapitulasi meraih unggul "
    "menang kalah kosong"
)
VOTE_STRONG = _words("sah perolehan rekap rekapitulasi meraih")
VOTE_CANDIDATE = _words(
    "paslon pasangan capres cawapres cagub cawagub cabup cawabup cawalkot calon kandidat caleg"
)
VOTE_WIN = _words("menang unggul kalah")
VOTE_LINK = _words("no nomor nmr urut tidak tdk dan vs lawan")

_ALL_KEYWORDS: dict[str, frozenset[str]] = {
    "report": frozenset(PHASE_CUES) | frozenset(SITUATION_WORDS),
    "incident": frozenset(CATEGORY_WORDS) | frozenset(SEVERITY_WORDS),
    "command": frozenset(COMMANDS),
}
KNOWN = frozenset().union(
    *_ALL_KEYWORDS.values(),
    TROUBLE,
    NEGATORS,
    FILLERS,
    INCIDENT_FILLERS,
    TPS_MARKERS,
    DESA_MARKERS,
    UNITS,
    PREFIXES,
    THANKS,
    QUESTIONS,
    HELP_WORDS,
    STOPLIST,
    VOTE_WORDS,
    SEVERITY_MARKERS,
    *(frozenset(p) for p in CATEGORY_PHRASES),
)


# --- one typo --------------------------------------------------------------------------------


def within_one_edit(a: str, b: str) -> bool:
    """Damerau-Levenshtein (optimal string alignment) distance of `a` and `b` is at most 1."""
    la, lb = len(a), len(b)
    if la > lb:
        a, b, la, lb = b, a, lb, la
    if lb - la > 1:
        return False
    i = 0
    while i < la and a[i] == b[i]:
        i += 1
    if i == la:
        return True  # equal, or b is a with one letter added at the end
    if la == lb:
        if a[i + 1 :] == b[i + 1 :]:
            return True  # one substitution
        return a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]
    return a[i:] == b[i + 1 :]  # one insertion


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _typo_index(keywords: Iterable[str]) -> dict[str, frozenset[str]]:
    # Symmetric deletions: two words are within one edit only if they share a word or a
    # one-letter deletion; the candidates are then checked exactly.
    index: dict[str, set[str]] = {}
    for kw in keywords:
        if len(kw) >= TYPO_MIN:
            for form in {kw} | _deletions(kw):
                index.setdefault(form, set()).add(kw)
    return {form: frozenset(kws) for form, kws in index.items()}


_TYPO_INDEX = {context: _typo_index(kws) for context, kws in _ALL_KEYWORDS.items()}


@lru_cache(maxsize=8192)
def typo_of(word: str, context: str) -> frozenset[str]:
    """Keywords of `context` that `word` (not itself a known word) is one typo away from."""
    if word in KNOWN or len(word) < TYPO_MIN - 1 or not word.isalpha():
        return frozenset()
    index = _TYPO_INDEX[context]
    found: set[str] = set()
    for form in {word} | _deletions(word):
        found |= index.get(form, frozenset())
    return frozenset(kw for kw in found if within_one_edit(word, kw))


# --- reading a message -----------------------------------------------------------------------

# Control and invisible characters, lone surrogates: blanks, one for one (spans stay valid).
_BLANK_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u2060\ufeff\ud800-\udfff]")
_BOT_MENTION_RE = re.compile(r"^(\s*/\w+)@\w+")  # Telegram group commands: /status@PoskoBot
# A full TPS code: desa code (2.2.2.4 digits) and the TPS number, dots and dashes optional
# (16.08.01.1007-003, 1608011007-3, 1608011007003). Joined digits must be all 13, and a '+' or
# a leading 0 means a phone number.
_CODE_RE = re.compile(
    r"(?<![0-9+])([1-9][0-9])[.\s-]?([0-9]{2})[.\s-]?([0-9]{2})[.\s-]?([0-9]{4})"
    r"(?:\s*[-./\s]\s*([0-9]{1,3})|([0-9]{3}))(?![0-9])"
)
# Times and dates are notes, never TPS numbers: jam 07.00, pkl 13, 13:30 WIB, 27/11/2024.
_TIME_RE = re.compile(
    r"(?=[0-9jp])(?:\b(?:jam|pukul|pkl)\.?\s*)?(?<![0-9.:,])(?:[01]?[0-9]|2[0-3])[.:][0-5][0-9]"
    r"(?![0-9]|[.:][0-9])(?:\s*(?:wib|wita|wit)\b)?"
    r"|\b(?:jam|pukul|pkl)\.?\s*[0-9]{1,2}(?![0-9.:])(?:\s*(?:wib|wita|wit)\b)?"
    r"|(?<![0-9/])[0-3]?[0-9]/[01]?[0-9](?:/[0-9]{2,4})?(?![0-9/])",
    re.IGNORECASE,
)
_TOKEN_RE = re.compile(r"[^\W\d_]+|[0-9]+|\?")
_SQUEEZE_RE = re.compile(r"(\w)\1{2,}")  # runs of three or more letters
# Vote pairs without words: "01: 150, 02: 98", "1-230 2-110".
_VOTE_PAIR_RE = re.compile(
    r"(?<![0-9.,:])0?[1-9]\s*[:=]\s*[0-9]{1,4}(?![0-9])"
    r"|(?<![0-9.,:-])0?[1-9]\s*-\s*[0-9]{2,4}(?![0-9])"
)
_TIME_LIKE_RE = re.compile(r"0?[0-9]:[0-5][0-9]")
_TIME_MARK_RE = re.compile(r"(?:jam|pukul|pkl)\.?\s*$|^\s*(?:wib|wita|wit)\b", re.IGNORECASE)


class _Tok(NamedTuple):  # not a frozen dataclass: one is built per word, and that init is slow
    kind: str  # word | num | code | badcode | time | q
    norm: str  # word: casefolded, accents off, runs squeezed; code: canonical code
    start: int
    end: int


@lru_cache(maxsize=16384)
def _norm_word(word: str) -> str:
    if word.isascii():
        word = word.lower()
    else:
        decomposed = unicodedata.normalize("NFKD", word.casefold())
        word = "".join(c for c in decomposed if not unicodedata.combining(c))
    # "AMAAAN", "COBLOSSS" are AMAN, COBLOS; but a squeezed word is only ever matched exactly:
    # "dibaaa" squeezed is "diba", one edit from TIBA though two from what was typed (DIBAWA).
    squeezed = _SQUEEZE_RE.sub(r"\1", word)
    return squeezed if squeezed in KNOWN else word


def _code(m: re.Match[str]) -> str | None:
    prov, kab, kec, desa, num, num3 = m.groups()
    number = int(num or num3)
    joined = not any(c in m.group(0) for c in ".- /\t")
    if joined and not "01" <= kab <= "79":
        return None  # 62 8xx ...: a phone number, not kabupaten 80+
    if number == 0 or kab == "00" or kec == "00":
        return ""
    return f"{prov}.{kab}.{kec}.{desa}-{number:03d}"


@dataclass(slots=True)
class _Message:
    text: str  # the message as read: blanks for control characters, at most MAX_INPUT
    tokens: list[_Tok]

    @classmethod
    def read(cls, raw: str) -> "_Message":
        text = raw[:MAX_INPUT]
        if not text.isascii() and not unicodedata.is_normalized("NFKC", text):
            text = unicodedata.normalize("NFKC", text)[:MAX_INPUT]  # fullwidth letters and digits
        text = _BLANK_RE.sub(" ", text)
        text = _BOT_MENTION_RE.sub(r"\1", text)
        spans: list[_Tok] = []
        taken: list[tuple[int, int]] = []
        for m in _CODE_RE.finditer(text):
            code = _code(m)
            if code is None:
                continue
            spans.append(_Tok("code" if code else "badcode", code, m.start(), m.end()))
            taken.append((m.start(), m.end()))
        for m in _TIME_RE.finditer(text):
            if not any(s < m.end() and m.start() < e for s, e in taken):
                spans.append(_Tok("time", m.group(0), m.start(), m.end()))
                taken.append((m.start(), m.end()))
        tokens = spans
        for m in _TOKEN_RE.finditer(text):
            s = m.start()
            if taken and any(a <= s < b for a, b in taken):
                continue
            w = m.group(0)
            if w == "?":
                tokens.append(_Tok("q", w, s, m.end()))
            elif w[0] in "0123456789":  # not isdigit(): "⓻" is a digit to Python, not a number
                tokens.append(_Tok("num", w, s, m.end()))
            else:
                tokens.append(_Tok("word", _norm_word(w), s, m.end()))
        if spans:
            tokens.sort(key=lambda t: t.start)
        return cls(text, tokens)

    def quote(self, start: int, end: int | None = None, limit: int = DETAIL_MAX) -> str:
        """The officer's own words from `start`, one line, at most `limit` characters."""
        words = " ".join(self.text[start:end].split()).strip(" ,.;:!-/#")
        if len(words) <= limit:
            return words
        return words[: limit - 2].rstrip() + ".."

    def tail(self, start: int, limit: int) -> str:
        """Free text from `start` on, tidied: the note or an incident's text."""
        text = " ".join(self.text[start:].split()).strip(" ,.;:!-/#")
        return text[:limit].rstrip()


# --- the sender's TPS ------------------------------------------------------------------------


@dataclass(slots=True)
class _Sender:
    """The sender's assigned TPS, indexed for numbers and desa names."""

    assignments: Sequence[TpsRef]
    desa_names: dict[tuple[str, ...], frozenset[str]] = field(default_factory=dict)
    first_words: frozenset[str] = frozenset()
    longest_desa: int = 0

    def __post_init__(self) -> None:
        names: dict[tuple[str, ...], set[str]] = {}
        for ref in self.assignments:
            parts = tuple(
                m.group(0) if m.group(0)[0] in "0123456789" else _norm_word(m.group(0))
                for m in _TOKEN_RE.finditer(ref.desa)
                if m.group(0) != "?"
            )
            if not parts:
                continue
            names.setdefault(parts, set()).add(ref.desa)
            if len(parts) > 1:  # "Suka Raja" typed "sukaraja"
                names.setdefault(("".join(parts),), set()).add(ref.desa)
        self.desa_names = {k: frozenset(v) for k, v in names.items()}
        self.first_words = frozenset(k[0] for k in names)
        self.longest_desa = max((len(k) for k in names), default=0)

    def desa_at(self, tokens: Sequence[_Tok], i: int) -> tuple[int, frozenset[str]] | None:
        """The longest of the sender's desa names starting at token `i`: (length, names)."""
        if tokens[i].norm not in self.first_words:
            return None
        for n in range(min(self.longest_desa, len(tokens) - i), 0, -1):
            key = tuple(t.norm for t in tokens[i : i + n])
            if key in self.desa_names:
                return n, self.desa_names[key]
        return None

    def numbers(self, refs: Iterable[TpsRef] | None = None) -> tuple[str, ...]:
        """How the sender would write each TPS: its number, or desa and number if repeated."""
        refs = list(self.assignments if refs is None else refs)
        counts: dict[int, int] = {}
        for r in self.assignments:
            counts[r.number] = counts.get(r.number, 0) + 1
        return tuple(
            str(r.number) if counts[r.number] == 1 else f"{r.desa} {r.number}" for r in refs
        )

    def example_tps(self) -> str:
        """How this sender names a TPS in an example: `TPS 3`, `SUKARAJA 3` or a full code."""
        if not self.assignments:
            return EXAMPLE_CODE
        first = self.assignments[0]
        if sum(r.number == first.number for r in self.assignments) == 1:
            return f"TPS {first.number}"
        return f"{first.desa.upper()} {first.number}"


@dataclass(slots=True)
class _TpsWords:
    """What a message says about its TPS."""

    code: str | None = None
    number: int | None = None
    number_text: str = ""
    desa: frozenset[str] | None = None
    desa_text: str = ""

    @property
    def is_given(self) -> bool:
        return self.code is not None or self.number is not None or self.desa is not None


def _resolve(said: _TpsWords, sender: _Sender, example: str) -> tuple[str, bool] | Refusal:
    """The TPS code `said` names for this sender, and whether it was implied; or why not."""
    if said.code is not None:
        return said.code, False
    refs = list(sender.assignments)
    mine = sender.numbers()
    if said.number is not None and not 1 <= said.number <= 999:
        return _refusal(RefusalReason.TPS_INVALID, said.number_text, example=example)
    if said.desa is not None:
        refs = [r for r in refs if r.desa in said.desa]
    if said.number is not None:
        refs = [r for r in refs if r.number == said.number]
    if len(refs) == 1:
        return refs[0].code, not said.is_given
    if not said.is_given:
        return _refusal(RefusalReason.TPS_MISSING, "", mine, example)
    asked = " ".join(x for x in (said.desa_text, said.number_text) if x)
    if not refs:
        return _refusal(RefusalReason.TPS_NOT_ASSIGNED, asked, mine, example)
    options = tuple(f"{r.desa} {r.number}" for r in refs)
    return _refusal(RefusalReason.TPS_AMBIGUOUS, asked, options, example)


def _refusal(
    reason: RefusalReason, detail: str, options: Sequence[str] = (), example: str = ""
) -> Refusal:
    return Refusal(reason_id=reason, detail=detail, options=tuple(options), example=example)


# --- vote tallies ----------------------------------------------------------------------------


def _is_tally(msg: _Message) -> bool:
    """The message reports vote counts (per candidate, valid/invalid ballots) or a winner."""
    words = [t for t in msg.tokens if t.kind in ("word", "num")]
    counted: set[int] = set()
    strong = candidate = win = False
    for k, t in enumerate(words):
        if t.kind != "word" or t.norm not in VOTE_WORDS:
            continue
        if t.norm == "suara" and k > 0 and words[k - 1].norm == "surat":
            continue  # surat suara: ballot papers
        if t.norm == "kosong" and not (k > 0 and words[k - 1].norm == "kotak"):
            continue
        candidate |= t.norm in VOTE_CANDIDATE
        win |= t.norm in VOTE_WIN
        after_strong = t.norm in VOTE_STRONG
        for j in range(k + 1, len(words)):
            w = words[j]
            if w.kind == "num":
                counted.add(j)
                strong |= after_strong
            elif w.norm in VOTE_WORDS or w.norm in VOTE_LINK:
                after_strong |= w.norm in VOTE_STRONG
            else:
                break
    if len(counted) >= 2 or strong or (candidate and win):
        return True
    if not any(c in msg.text for c in ":=-"):
        return False
    masked = msg.text
    for t in msg.tokens:
        if t.kind in ("code", "badcode"):
            masked = masked[: t.start] + " " * (t.end - t.start) + masked[t.end :]
    pairs = 0
    for m in _VOTE_PAIR_RE.finditer(masked):
        before, after = masked[max(0, m.start() - 8) : m.start()], masked[m.end() : m.end() + 5]
        if _TIME_LIKE_RE.fullmatch(m.group(0)) or (
            ":" in m.group(0) and (_TIME_MARK_RE.search(before) or _TIME_MARK_RE.search(after))
        ):
            continue  # 07:30, jam 7: 30, 13:30 WIB
        pairs += 1
    return pairs >= 2


# --- the parts of a message ------------------------------------------------------------------


def _strip_prefix(msg: _Message) -> int:
    """Index of the first token after greetings, courtesy and ranks ("Siap ndan, izin lapor")."""
    toks = msg.tokens
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.norm == "terima" and i + 1 < len(toks) and toks[i + 1].norm == "kasih":
            i += 2
        elif _is_courtesy(msg, toks, i):
            i += 1
        else:
            break
    return i


def _is_courtesy(msg: _Message, toks: list[_Tok], i: int) -> bool:
    t = toks[i]
    if t.kind == "q":
        return i + 1 < len(toks)
    if t.norm in PREFIXES or t.norm in THANKS:
        return t.kind == "word"
    if t.norm == "siap":
        return i + 1 < len(toks) and _is_courtesy_siap(msg, toks, i)
    return t.norm == "86" and _is_courtesy_86(toks, i)


def _is_courtesy_86(toks: list[_Tok], i: int) -> bool:
    # "Siap 86 ndan": Polri radio code for "understood", unless a TPS 86 is being reported.
    after = toks[i + 1] if i + 1 < len(toks) else None
    before = toks[i - 1] if i else None
    if after is None or after.norm in PREFIXES:
        return True
    after_courtesy = before is not None and before.norm in ("siap", "ndan", "dan", "komandan")
    return after_courtesy and not _is_report_word(after)


def _is_courtesy_siap(msg: _Message, toks: list[_Tok], i: int) -> bool:
    # Polri radio courtesy "Siap, ..." / "Siap ndan ..." versus the phase "TPS 3 siap": a
    # leading "siap" is courtesy when punctuation or a courtesy word follows it, or when another
    # phase is named after it.
    nxt = toks[i + 1]
    if msg.text[toks[i].end : nxt.start].strip(" "):
        return True
    if nxt.norm in PREFIXES or nxt.norm in THANKS or nxt.norm == "86":
        return True
    return any(t.kind == "word" and t.norm in PHASE_CUES for t in toks[i + 1 : i + 12])


def _first_tps_marker(toks: Sequence[_Tok], sender: _Sender, limit: int = 6) -> int | None:
    """Index of the first explicit TPS reference among the first tokens (code, `TPS n`, desa)."""
    for i, t in enumerate(toks[:limit]):
        if t.kind in ("code", "badcode") or sender.desa_at(toks, i) is not None:
            return i
        if (
            t.kind == "word"
            and t.norm in TPS_MARKERS
            and i + 1 < len(toks)
            and toks[i + 1].kind == "num"
        ):
            return i
    return None


def _skip_names(toks: list[_Tok], sender: _Sender) -> list[_Tok]:
    # "Bripka Joko Susanto TPS 3 aman", "Dari Budi: TPS 3 ...": a few words before the first
    # explicit TPS are skipped when none of them is a keyword, a negation, a question or a
    # number (but an NRP). They are never read as who sent the message.
    at = _first_tps_marker(toks, sender)
    if not at:
        return toks
    for k, t in enumerate(toks[:at]):
        if t.kind == "num" and k > 0 and toks[k - 1].norm == "nrp":
            continue
        if t.kind != "word":
            return toks
        if t.norm in KNOWN and t.norm not in PREFIXES and t.norm not in FILLERS:
            return toks
        if typo_of(t.norm, "report"):
            return toks
    return toks[at:]


class _Hit(NamedTuple):
    key: str  # a _Cue or a Situation
    start: int  # where its words are in the message
    end: int


@dataclass(slots=True)
class _Zone:
    """The leading part of a report: TPS words, keywords, fillers; the note follows it."""

    tps: _TpsWords = field(default_factory=_TpsWords)
    hits: list[_Hit] = field(default_factory=list)
    negated: list[tuple[int, int, str]] = field(default_factory=list)  # "belum buka", its key
    times: list[tuple[int, int]] = field(default_factory=list)
    end: int = 0  # index of the first token not read
    note_from: int = 0  # index where the free text starts (a pending "tidak" belongs to it)
    refusal: Refusal | None = None


def _keyword(word: str, context: str, example: str) -> str | Refusal | None:
    """The keyword `word` is (exactly, or by one typo), a refusal if two, None if none."""
    if word in _ALL_KEYWORDS[context]:
        return word
    near = typo_of(word, context)
    if not near:
        return None
    meanings = {_meaning(kw, context) for kw in near}
    if len(meanings) > 1:
        return _refusal(
            RefusalReason.AMBIGUOUS_WORD, word, tuple(sorted(kw.upper() for kw in near)), example
        )
    return min(near)


def _meaning(keyword: str, context: str) -> str:
    if context == "report":
        return str(PHASE_CUES.get(keyword) or SITUATION_WORDS[keyword])
    if context == "incident":
        return str(CATEGORY_WORDS.get(keyword) or SEVERITY_WORDS[keyword])
    return str(COMMANDS[keyword])


def _report_zone(msg: _Message, toks: list[_Tok], sender: _Sender, example: str) -> _Zone:
    """Read TPS words and keywords from the start until the first word that is neither."""
    z = _Zone()
    n = len(toks)
    negator: int | None = None  # token index of a pending "belum", "tidak" ...
    i = 0

    def set_number(t: _Tok) -> bool:
        if z.tps.number is not None or z.tps.code is not None:
            return False
        z.tps.number, z.tps.number_text = int(t.norm), t.norm.lstrip("0") or "0"
        return True

    def multiple(detail_from: int) -> Refusal:
        return _refusal(
            RefusalReason.MULTIPLE_TPS, msg.quote(detail_from, None, DETAIL_MAX), (), example
        )

    while i < n:
        t = toks[i]
        nxt = toks[i + 1] if i + 1 < n else None
        if t.kind == "code":
            if z.tps.is_given and z.tps.code != t.norm:
                z.refusal = multiple(toks[0].start)
                return z
            z.tps.code = t.norm
            i += 1
            continue
        if t.kind == "badcode":
            z.refusal = _refusal(RefusalReason.TPS_INVALID, msg.quote(t.start, t.end), (), example)
            return z
        if t.kind == "time":
            z.times.append((t.start, t.end))
            i += 1
            continue
        if t.kind == "q":
            i += 1
            continue
        desa = sender.desa_at(toks, i)
        if desa is not None:
            length, names = desa
            if z.tps.desa is not None and z.tps.desa != names:
                z.refusal = multiple(toks[0].start)
                return z
            z.tps.desa, z.tps.desa_text = names, msg.quote(t.start, toks[i + length - 1].end)
            i += length
            continue
        if t.kind == "num":
            if nxt is not None and nxt.kind == "word" and nxt.norm in UNITS:
                break  # "50 orang": a count, the note begins
            if t.norm == "86" and z.tps.is_given and (nxt is None or nxt.norm in COURTESY):
                i += 1  # "TPS 3 aman 86": understood
                continue
            if set_number(t):
                i += 1
                continue
            prev = toks[i - 1] if i else None
            # "TPS 5 dan 6", "TPS 5, 6, 12": a list of TPS, not a count
            joined = prev is not None and (prev.norm in ("dan", "serta") or prev.kind == "num")
            before_keyword = nxt is not None and nxt.kind == "word" and _is_report_word(nxt)
            if int(t.norm) != z.tps.number and (joined or before_keyword):
                z.refusal = multiple(toks[0].start)
                return z
            break
        word = t.norm
        if word in TPS_MARKERS and nxt is not None and nxt.kind == "num":
            if not set_number(nxt) and int(nxt.norm) != z.tps.number:
                z.refusal = multiple(toks[0].start)
                return z
            i += 2
            continue
        if word in TPS_MARKERS or word in DESA_MARKERS or word in THANKS or word in COURTESY:
            i += 1
            continue
        if word == "terima" and nxt is not None and nxt.norm == "kasih":
            i += 2
            continue
        if word in NEGATORS:
            if word == "nihil" and not (nxt is not None and _is_report_word(nxt)):
                z.hits.append(_Hit(Situation.AMAN, t.start, t.end))  # "nihil": nothing
            else:
                negator = i
            i += 1
            continue
        if word in TROUBLE:
            if negator is None:
                break  # "ada kendala": trouble, but which? the note says it
            z.hits.append(_Hit(Situation.AMAN, toks[negator].start, t.end))
            negator = None
            i += 1
            continue
        keyword = _keyword(word, "report", example)
        if isinstance(keyword, Refusal):
            z.refusal = keyword
            return z
        if keyword is not None:
            key: str = PHASE_CUES.get(keyword) or SITUATION_WORDS[keyword]
            if negator is not None and i - negator <= 3:
                start = toks[negator].start
                if key == Situation.GANGGUAN:  # "tidak ada gangguan": aman
                    z.hits.append(_Hit(Situation.AMAN, start, t.end))
                else:
                    z.negated.append((start, t.end, key))
            else:
                z.hits.append(_Hit(key, t.start, t.end))
            negator = None
            i += 1
            continue
        if word in FILLERS:
            i += 1
            continue
        break
    z.end = i
    z.note_from = negator if negator is not None else i
    return z


def _is_report_word(t: _Tok) -> bool:
    return t.kind == "word" and (
        t.norm in PHASE_CUES or t.norm in SITUATION_WORDS or t.norm in TROUBLE
    )


def _phase(hits: Sequence[_Hit]) -> Phase | Literal[False] | None:
    """The phase the cues name together (the furthest one); False if they contradict."""
    said = [h.key for h in hits if isinstance(h.key, _Cue)]
    # A word repeated ("beres beres", "selesai selesai") says it once: two SELESAI side by side
    # would otherwise each finish the other, and name nothing.
    cues = [c for i, c in enumerate(said) if i == 0 or c is not said[i - 1]]
    if not cues:
        return None
    cue_set = set(cues)
    used = [False] * len(cues)
    named: list[Phase] = []
    voting_done = False
    for k, cue in enumerate(cues):
        if cue is _Cue.SELESAI:
            # "hitung selesai", "selesai hitung": SELESAI finishes the cue beside it.
            j = k - 1 if k > 0 else (k + 1 if k + 1 < len(cues) else None)
            if j is None:
                named.append(Phase.SELESAI_HITUNG)
                continue
            if cues[j] is _Cue.TUNDA:
                continue  # "selesai ditunda": postponed, below
            if cues[j] not in (_Cue.HITUNG, _Cue.COBLOS, _Cue.MULAI, _Cue.SIAP):
                return False  # "beres datang": finished what? Not a guess to store for good
            used[j] = True
            if cues[j] is _Cue.HITUNG:
                named.append(Phase.SELESAI_HITUNG)
            elif cues[j] in (_Cue.COBLOS, _Cue.MULAI):
                voting_done = True  # voting over: is the count running, or done?
            elif cues[j] is _Cue.SIAP:
                named.append(Phase.PERSIAPAN)
        elif cue is _Cue.MULAI and len(cues) == 1:
            named.append(Phase.PEMUNGUTAN)
    has_logistik = _Cue.LOGISTIK in cue_set
    for k, cue in enumerate(cues):
        if used[k]:
            continue
        if cue is _Cue.LOGISTIK:
            named.append(Phase.LOGISTIK_TIBA)
        elif cue is _Cue.TIBA:
            to_ppk = _Cue.PPK in cue_set and not has_logistik
            named.append(Phase.DITERIMA_PPK if to_ppk else Phase.LOGISTIK_TIBA)
        elif cue is _Cue.SIAP:
            named.append(Phase.PERSIAPAN)
        elif cue is _Cue.COBLOS and _Cue.SIAP not in cue_set:  # "siap coblos": ready
            named.append(Phase.PEMUNGUTAN)
        elif cue is _Cue.HITUNG:
            named.append(Phase.PENGHITUNGAN)
        elif cue is _Cue.KAWAL and not has_logistik:  # "logistik dikirim": not the ballot box
            named.append(Phase.KOTAK_DIKAWAL)
        elif cue is _Cue.PPK and not has_logistik and _Cue.KAWAL not in cue_set:
            named.append(Phase.DITERIMA_PPK)  # "ke PPK" with KAWAL is where the box goes
        elif cue is _Cue.TERIMA and not has_logistik:
            named.append(Phase.DITERIMA_PPK)
        elif cue is _Cue.TUNDA:
            return Phase.DITUNDA  # "coblos ditunda": postponed, whatever else is named
    if not named:
        return False if voting_done else None
    return max(named, key=lambda p: PHASE_RANK[p])


# What the example of a NEGATED refusal suggests instead: the step before the one not reached
# ("belum buka": SIAP), another situation ("tidak aman": WASPADA).
_INSTEAD_OF_NEGATED: dict[str, str] = {
    _Cue.LOGISTIK: "AMAN",
    _Cue.TIBA: "AMAN",
    _Cue.SIAP: "LOGISTIK AMAN",
    _Cue.COBLOS: "SIAP AMAN",
    _Cue.MULAI: "SIAP AMAN",
    _Cue.HITUNG: "COBLOS AMAN",
    _Cue.SELESAI: "HITUNG AMAN",
    _Cue.KAWAL: "SELESAI AMAN",
    _Cue.PPK: "KAWAL AMAN",
    _Cue.TERIMA: "KAWAL AMAN",
    Situation.AMAN: "WASPADA",
    Situation.WASPADA: "AMAN",
}


def _report(msg: _Message, toks: list[_Tok], sender: _Sender) -> PhaseReport | Refusal:
    example = f"{sender.example_tps()} COBLOS AMAN"
    z = _report_zone(msg, toks, sender, example)
    if z.refusal is not None:
        return z.refusal
    if not z.hits:
        if z.negated:
            s, e, key = z.negated[0]
            instead = _INSTEAD_OF_NEGATED.get(key, "COBLOS AMAN")
            return _refusal(
                RefusalReason.NEGATED, msg.quote(s, e), (), f"{sender.example_tps()} {instead}"
            )
        detail = msg.quote(toks[z.end].start) if z.end < len(toks) else ""
        return _refusal(RefusalReason.NO_KEYWORD, detail, (), example)
    phase = _phase(z.hits)
    if phase is False:
        first = min(h.start for h in z.hits)
        last = max(h.end for h in z.hits)
        return _refusal(
            RefusalReason.CONFLICTING_PHASE,
            msg.quote(first, last),
            ("HITUNG", "SELESAI"),
            f"{sender.example_tps()} HITUNG AMAN",
        )
    if isinstance(phase, Phase) and _denied(phase, z.negated):
        phase = None  # "logistik belum tiba", "belum diterima PPK": not reached
        if not any(isinstance(h.key, Situation) for h in z.hits):
            s, e, key = z.negated[0]
            instead = _INSTEAD_OF_NEGATED.get(key, "COBLOS AMAN")
            return _refusal(
                RefusalReason.NEGATED, msg.quote(s, e), (), f"{sender.example_tps()} {instead}"
            )
    situations = [h.key for h in z.hits if isinstance(h.key, Situation)]
    # Several situations ("rawan, ricuh"): the worst one, so trouble is never played down.
    situation = max(situations, key=lambda s: SITUATION_RANK[s]) if situations else None
    resolved = _resolve(z.tps, sender, example)
    if isinstance(resolved, Refusal):
        return resolved
    code, implied = resolved
    return PhaseReport(
        tps=code,
        phase=phase if isinstance(phase, Phase) else None,
        situation=situation,
        note=_note(msg, toks, z),
        is_tps_implied=implied,
    )


def _denied(phase: Phase, negated: Sequence[tuple[int, int, str]]) -> bool:
    # A negated cue denies the phase it names and every later one: "logistik belum tiba" names
    # LOGISTIK (logistik_tiba) and denies it; "hitung belum selesai" stays penghitungan.
    if phase is Phase.DITUNDA:
        return False
    for _, _, key in negated:
        if isinstance(key, _Cue):
            denied = _phase([_Hit(key, 0, 0)])
            if (
                isinstance(denied, Phase)
                and denied is not Phase.DITUNDA
                and PHASE_RANK[phase] >= PHASE_RANK[denied]
            ):
                return True
    return False


def _note(msg: _Message, toks: Sequence[_Tok], z: _Zone) -> str | None:
    # Negated keywords and times read inside the keywords ("belum selesai", "jam 07.00") are
    # kept in the note with the free text after the keywords.
    spans = sorted([(s, e) for s, e, _ in z.negated] + z.times)
    parts = [msg.quote(s, e, NOTE_MAX) for s, e in spans]
    if z.end < len(toks):
        # Fillers run into the free text belong to it: "waspada, ada provokator".
        start = z.note_from
        while (
            start > 0
            and toks[start - 1].kind == "word"
            and toks[start - 1].norm in FILLERS
            and not msg.text[toks[start - 1].end : toks[start].start].strip()
        ):
            start -= 1
        parts.append(msg.tail(toks[start].start, NOTE_MAX))
    note = ", ".join(p for p in parts if p)[:NOTE_MAX].rstrip()
    return note or None


def _incident(msg: _Message, toks: list[_Tok], sender: _Sender) -> IncidentReport | Refusal:
    """`INSIDEN <tps> <category> <severity> <text>`; toks start after the keyword."""
    where = sender.example_tps()
    said = _TpsWords()
    category: IncidentCategory | None = None
    category_word = ""
    severity: int | None = None
    n = len(toks)
    i = 0

    def example(cat: str = "RICUH", sev: int | None = 2, text: str = "massa berkumpul") -> str:
        return f"INSIDEN {where} {cat} {sev or 2} {text}"

    while i < n:
        t = toks[i]
        nxt = toks[i + 1] if i + 1 < n else None
        if t.kind == "code" and not said.is_given:
            said.code = t.norm
            i += 1
            continue
        if t.kind == "badcode":
            return _refusal(RefusalReason.TPS_INVALID, msg.quote(t.start, t.end), (), example())
        if t.kind == "q":
            i += 1
            continue
        desa = sender.desa_at(toks, i) if said.desa is None and said.code is None else None
        if desa is not None:
            length, names = desa
            said.desa, said.desa_text = names, msg.quote(t.start, toks[i + length - 1].end)
            i += length
            continue
        if t.kind == "num":
            # The grammar is positional: 1-4 right after the category is the severity, even in
            # "LAKA 2 motor jatuh"; other counts ("50 orang") begin the text.
            is_level = category is not None and severity is None and t.norm in ("1", "2", "3", "4")
            if not is_level and nxt is not None and nxt.kind == "word" and nxt.norm in UNITS:
                break
            if category is None and said.number is None and said.code is None:
                said.number, said.number_text = int(t.norm), t.norm.lstrip("0") or "0"
            elif severity is None:
                severity = int(t.norm)
                if not 1 <= severity <= 4:
                    return _refusal(
                        RefusalReason.INCIDENT_SEVERITY,
                        t.norm,
                        ("1", "2", "3", "4"),
                        example(category_word or "RICUH"),
                    )
            else:
                break
            i += 1
            continue
        if t.kind != "word":
            break
        word = t.norm
        if category is not None and severity is not None:
            if not said.is_given and word in TPS_MARKERS and nxt is not None and nxt.kind == "num":
                said.number, said.number_text = int(nxt.norm), nxt.norm.lstrip("0") or "0"
                i += 2
                continue
            break  # the text begins ("ada korban", "di depan TPS"): not read as keywords
        if word in TPS_MARKERS and nxt is not None and nxt.kind == "num" and not said.is_given:
            said.number, said.number_text = int(nxt.norm), nxt.norm.lstrip("0") or "0"
            i += 2
            continue
        if word in SEVERITY_MARKERS and nxt is not None and severity is None:
            level = (
                int(nxt.norm)
                if nxt.kind == "num"
                else {**SEVERITY_WORDS, "sedang": 2}.get(nxt.norm, 0)
            )
            if not 1 <= level <= 4:
                return _refusal(
                    RefusalReason.INCIDENT_SEVERITY,
                    msg.quote(t.start, nxt.end),
                    ("1", "2", "3", "4"),
                    example(category_word or "RICUH"),
                )
            severity = level
            i += 2
            continue
        if word == "sangat" and nxt is not None and nxt.norm in ("berat", "parah", "gawat"):
            severity = severity or 4
            i += 2
            continue
        phrase = tuple(x.norm for x in toks[i : i + 2])
        if category is None and phrase in CATEGORY_PHRASES:
            category, category_word = CATEGORY_PHRASES[phrase], "".join(phrase).upper()
            i += 2
            continue
        keyword = _keyword(word, "incident", example())
        if isinstance(keyword, Refusal):
            return keyword
        if keyword in SEVERITY_WORDS and severity is None:
            severity = SEVERITY_WORDS[keyword]
            i += 1
            continue
        if keyword in CATEGORY_WORDS and category is None:
            category, category_word = CATEGORY_WORDS[keyword], keyword.upper()
            i += 1
            continue
        if word in INCIDENT_FILLERS or word in TPS_MARKERS or word in DESA_MARKERS:
            i += 1
            continue
        break
    if category is None:
        detail = msg.quote(toks[i].start, toks[i].end) if i < n else ""  # the word in its place
        return _refusal(
            RefusalReason.INCIDENT_CATEGORY,
            detail,
            ("RICUH", "DEMO", "POLITIKUANG", "INTIMIDASI", "LOGISTIK", "BENCANA", "LAKA", "LAIN"),
            example(),
        )
    text = msg.tail(toks[i].start, TEXT_MAX) if i < n else ""
    if severity is None:
        detail = msg.quote(toks[i].start) if i < n else ""
        return _refusal(
            RefusalReason.INCIDENT_SEVERITY,
            detail,
            ("1", "2", "3", "4"),
            example(category_word, None, _short(text) or "massa berkumpul"),
        )
    if not text:
        return _refusal(RefusalReason.INCIDENT_TEXT, "", (), example(category_word, severity))
    resolved = _resolve(said, sender, example(category_word, severity, _short(text)))
    if isinstance(resolved, Refusal):
        return resolved
    code, implied = resolved
    return IncidentReport(
        tps=code, category=category, severity=severity, text=text, is_tps_implied=implied
    )


def _short(text: str, limit: int = 24) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut or text[:limit]


def _enrol(msg: _Message, toks: list[_Tok]) -> Enrol | Refusal:
    """`DAFTAR 482913` (also `daftar kode: 482 913`); words after the code are ignored."""
    i = 0
    while i < len(toks) and toks[i].kind == "word" and toks[i].norm in ("kode", "no", "nomor"):
        i += 1
    digits = ""
    while i < len(toks) and toks[i].kind == "num" and len(digits) < 6:
        digits += toks[i].norm
        i += 1
    if len(digits) == 6:
        return Enrol(code=digits)
    detail = msg.quote(toks[0].start) if toks else ""
    return _refusal(RefusalReason.ENROL_CODE, detail, (), "DAFTAR 482913")


def _sos_tps(toks: Sequence[_Tok], sender: _Sender) -> str | None:
    """The TPS an SOS names explicitly anywhere (code, `TPS 3`, desa), if it resolves."""
    for i, t in enumerate(toks):
        said = _TpsWords()
        if t.kind == "code":
            return t.norm
        desa = sender.desa_at(toks, i)
        if desa is not None:
            said.desa = desa[1]
            after = toks[i + desa[0]] if i + desa[0] < len(toks) else None
            if after is not None and after.kind == "num":
                said.number = int(after.norm)
        elif t.norm in TPS_MARKERS and i + 1 < len(toks) and toks[i + 1].kind == "num":
            said.number = int(toks[i + 1].norm)
        else:
            continue
        resolved = _resolve(said, sender, "")
        return None if isinstance(resolved, Refusal) else resolved[0]
    return None


_SOS_ALONE = _words("sos darurat tolong emergency")


def _sos(msg: _Message, toks: list[_Tok], sender: _Sender) -> Sos:
    # An SOS is never refused, and its text is the whole message: the commander reads it all.
    # The TPS is kept only when the message names one of the sender's unambiguously.
    norms = [t.norm for t in toks]
    only_keyword = "".join(norms) == "sos" or all(n in _SOS_ALONE for n in norms)
    text = "" if only_keyword else msg.tail(0, TEXT_MAX)
    return Sos(text=text, tps=_sos_tps(toks, sender))


def _command(toks: list[_Tok]) -> _Cmd | Refusal | None:
    """The command the first word names (one typo allowed), if any."""
    first = toks[0]
    if first.kind == "q":
        return _Cmd.HELP
    if first.kind != "word":
        return None
    if first.norm in COMMANDS:
        return COMMANDS[first.norm]
    if first.norm in KNOWN:
        return None
    near = typo_of(first.norm, "command")
    if not near:
        return None
    as_report = typo_of(first.norm, "report")
    options = near | as_report
    if len({COMMANDS[kw] for kw in near}) > 1 or as_report:
        return _refusal(
            RefusalReason.AMBIGUOUS_WORD,
            first.norm,
            tuple(sorted(kw.upper() for kw in options)),
            "BANTUAN",
        )
    return COMMANDS[min(near)]


def _calls_sos(toks: Sequence[_Tok]) -> bool:
    """`SOS` anywhere (also `S.O.S`), or backup asked for anywhere ("ricuh, minta bantuan")."""
    norms = [t.norm for t in toks]
    if "sos" in norms or any(norms[k : k + 3] == ["s", "o", "s"] for k in range(len(norms) - 2)):
        return True
    return any(
        norms[k] in ASKING and norms[k + 1] in BACKUP and not (k and norms[k - 1] in NEGATORS)
        for k in range(len(norms) - 1)
    )


def _status(msg: _Message, toks: list[_Tok], sender: _Sender) -> StatusQuery | Refusal | None:
    """`STATUS` (all the sender's TPS) or `STATUS 3`; None if it is a report ("status aman")."""
    z = _report_zone(msg, toks, sender, f"STATUS {sender.example_tps()}")
    if z.refusal is not None:
        return z.refusal
    if z.hits or z.negated or z.end < len(toks):
        return None
    if not z.tps.is_given:
        return StatusQuery()
    resolved = _resolve(z.tps, sender, f"STATUS {sender.example_tps()}")
    if isinstance(resolved, Refusal):
        return resolved
    return StatusQuery(tps=resolved[0])


# --- the chain of custody of the ballot boxes -------------------------------------------------

# The custody commands lead the message, exactly (no typo: "tiba" is also LOGISTIK TIBA, and
# "serah" a phase cue). TIBA and SERAH are custody only in their full shape (`_custody`); any
# other message starting with them reads as before ("tiba 3": logistics arrived).
CUSTODY_WORDS: dict[str, CustodyStep] = _table(
    {
        CustodyStep.SEGEL: "segel disegel",
        CustodyStep.BERANGKAT: "berangkat brangkat brkt",
        CustodyStep.TIBA: "tiba",
        CustodyStep.SERAH_TERIMA: "serah",
    }
)
_AT_PPK = _words("di ke ppk")
_SEPARATORS_RE = re.compile(r"[\s,;]+")
_CUSTODY_EXAMPLE = {
    CustodyStep.SEGEL: "SEGEL {tps} 0012345 0012346",
    CustodyStep.BERANGKAT: "BERANGKAT {tps} BG 1234 XY",
    CustodyStep.TIBA: "TIBA {tps} PPK",
    CustodyStep.SERAH_TERIMA: "SERAH {tps} BA-017 Siti Aminah",
}


def _tps_words_at(toks: Sequence[_Tok], i: int, sender: _Sender) -> tuple[int, _TpsWords]:
    """The TPS named at token `i` (code, number, `TPS n`, desa [n]): tokens used and what."""
    said = _TpsWords()
    if i >= len(toks):
        return 0, said
    t = toks[i]
    if t.kind == "code":
        said.code = t.norm
        return 1, said
    if t.kind == "num":
        said.number, said.number_text = int(t.norm), t.norm
        return 1, said
    if t.norm in TPS_MARKERS and i + 1 < len(toks) and toks[i + 1].kind == "num":
        said.number, said.number_text = int(toks[i + 1].norm), toks[i + 1].norm
        return 2, said
    desa = sender.desa_at(toks, i)
    if desa is not None:
        n, names = desa
        said.desa, said.desa_text = names, " ".join(x.norm for x in toks[i : i + n])
        if i + n < len(toks) and toks[i + n].kind == "num":
            said.number, said.number_text = int(toks[i + n].norm), toks[i + n].norm
            n += 1
        return n, said
    return 0, said


def _custody(msg: _Message, toks: list[_Tok], sender: _Sender) -> CustodyReport | Refusal | None:
    """A custody step of the sender's boxes, or None when the message is not one."""
    first = toks[0]
    step = CUSTODY_WORDS.get(first.norm) if first.kind == "word" else None
    if step is None:
        return None
    i = 1
    saw_ppk = False
    if step is CustodyStep.TIBA:  # "TIBA PPK 3" as well as "TIBA 3 PPK"
        while i < len(toks) and toks[i].norm in _AT_PPK:
            saw_ppk, i = saw_ppk or toks[i].norm == "ppk", i + 1
    used, said = _tps_words_at(toks, i, sender)
    i += used
    rest = toks[i:]
    example = _CUSTODY_EXAMPLE[step].format(tps=sender.example_tps())
    if step is CustodyStep.TIBA:
        saw_ppk = saw_ppk or any(t.norm == "ppk" for t in rest)
        if not saw_ppk or any(t.norm not in _AT_PPK | FILLERS for t in rest):
            return None  # "tiba 3": logistics arrived, read as before
    if step is CustodyStep.SERAH_TERIMA and all(
        t.kind == "time" or (t.kind != "num" and t.norm in KNOWN) for t in rest
    ):
        return None  # "serah terima ppk tps 3", "serah 3 ke ppk": a phase report
    resolved = _resolve(said, sender, example)
    if isinstance(resolved, Refusal):
        return resolved
    code, implied = resolved
    tail = msg.text[rest[0].start :] if rest else ""
    words = [w for w in _SEPARATORS_RE.split(tail.strip(" ,.;:!-/#")) if w]
    match step:
        case CustodyStep.SEGEL:
            seals = tuple(w[:80] for w in words[:50])
            if not seals:
                return _refusal(RefusalReason.CUSTODY_FIELDS, msg.quote(first.start), (), example)
            return CustodyReport(tps=code, step=step, seal_numbers=seals, is_tps_implied=implied)
        case CustodyStep.BERANGKAT:
            vehicle = " ".join(words)[:80].strip() or None
            return CustodyReport(tps=code, step=step, vehicle=vehicle, is_tps_implied=implied)
        case CustodyStep.TIBA:
            return CustodyReport(tps=code, step=step, is_tps_implied=implied)
    # SERAH <tps> [<BA number>] <receiver's name>: the BA number is the word with a digit.
    ba = words[0][:80] if words and any(c.isdigit() for c in words[0]) else None
    name = " ".join(words[1:] if ba else words)[:120].strip()
    if not name:
        return _refusal(RefusalReason.CUSTODY_FIELDS, msg.quote(first.start), (), example)
    return CustodyReport(
        tps=code, step=step, ba_number=ba, receiver_name=name, is_tps_implied=implied
    )


# --- the grammar -----------------------------------------------------------------------------


def parse(text: str, *, assignments: Sequence[TpsRef] = ()) -> Command | Refusal:
    """Read one officer's message: what to store, or exactly what was not understood."""
    msg = _Message.read(text)
    sender = _Sender(assignments)
    start = _strip_prefix(msg)
    asks = start > 0 and msg.tokens[start - 1].norm in ASKING
    toks = msg.tokens[start:]
    if not toks:
        said = msg.quote(0) if msg.tokens else ""  # "Siap 86 ndan" is quoted, an emoji is not
        return _refusal(RefusalReason.EMPTY, said, (), f"{sender.example_tps()} AMAN")
    if _calls_sos(toks):
        return _sos(msg, toks, sender)
    custody = _custody(msg, toks, sender)
    if custody is not None:
        return custody
    command = _command(toks)
    if isinstance(command, Refusal):
        return command
    rest = toks[1:]
    if command is _Cmd.SOS or (command is _Cmd.HELP and toks[0].kind == "word"):
        # "BANTUAN" alone is the grammar; "minta bantuan", "bantuan, massa ricuh di TPS 3" and
        # "tolong" ask for backup: an SOS, since only an SOS reaches the commander at once.
        asks_help = all(t.kind == "q" or t.norm in HELP_WORDS for t in rest)
        wants_grammar = (command is _Cmd.HELP or (rest and toks[0].norm == "tolong")) and (
            asks_help and not asks
        )
        return Help() if wants_grammar else _sos(msg, toks, sender)
    if command is _Cmd.HELP:
        return Help()
    if command is _Cmd.ENROL:
        return _enrol(msg, rest)
    if _is_tally(msg):
        return TallyRefused()
    if command is _Cmd.STATUS:
        status = _status(msg, rest, sender)
        if status is not None:
            return status
    if command is _Cmd.INCIDENT:
        return _incident(msg, _skip_names(rest, sender), sender)
    return _report(msg, _skip_names(toks, sender), sender)
