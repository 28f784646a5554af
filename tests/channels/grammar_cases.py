"""Messages as officers type them, and what the grammar must make of each.

Four senders: SOLO guards one TPS, JOKO three (two in one desa, one in the desa whose name
begins the same), TWIN has TPS 3 in two desa, ROVING has no assignment (a Perwira on patrol).
"""

from dataclasses import dataclass
from typing import Any

from schemas.channels import (
    Enrol,
    Help,
    RefusalReason,
    StatusQuery,
    TallyRefused,
    TpsRef,
)
from schemas.enums import CustodyStep as CS
from schemas.enums import IncidentCategory as Cat
from schemas.enums import Phase as P
from schemas.enums import Situation as S

C1 = "16.08.01.1007-003"
TK5, TK6, TKB12 = "16.08.01.2006-005", "16.08.01.2006-006", "16.08.01.2023-012"
AJ3, SR3, KN2_1, KN4 = (
    "16.08.02.2035-003",
    "16.08.02.2001-003",
    "16.08.02.2032-001",
    "16.08.02.2002-004",
)

SOLO = (TpsRef(code=C1, number=3, desa="Dusun Martapura"),)
JOKO = (
    TpsRef(code=TK5, number=5, desa="Tanjung Kemala"),
    TpsRef(code=TK6, number=6, desa="Tanjung Kemala"),
    TpsRef(code=TKB12, number=12, desa="Tanjung Kemala Barat"),
)
TWIN = (
    TpsRef(code=AJ3, number=3, desa="Aman Jaya"),
    TpsRef(code=SR3, number=3, desa="Suka Raja"),
    TpsRef(code=KN2_1, number=1, desa="Kurungan Nyawa II"),
    TpsRef(code=KN4, number=4, desa="Kurungan Nyawa"),
)
ROVING: tuple[TpsRef, ...] = ()
SENDERS = {"SOLO": SOLO, "JOKO": JOKO, "TWIN": TWIN, "ROVING": ROVING}

ANY: Any = object()  # this part of the result is not what the case is about


@dataclass(frozen=True)
class Ping:
    """A PhaseReport is expected."""

    tps: str
    phase: P | None
    situation: S | None
    note: str | None = ANY
    implied: bool = ANY


@dataclass(frozen=True)
class Incident:
    """An IncidentReport is expected."""

    tps: str
    category: Cat
    severity: int
    text: str = ANY


@dataclass(frozen=True)
class SOS:
    """An Sos is expected."""

    tps: str | None = None
    text: str = ANY


@dataclass(frozen=True)
class Custody:
    """A CustodyReport is expected."""

    tps: str
    step: CS
    seals: tuple[str, ...] = ANY
    vehicle: str | None = ANY
    ba: str | None = ANY
    receiver: str | None = ANY


@dataclass(frozen=True)
class Refused:
    """A Refusal is expected."""

    reason: RefusalReason
    detail: str = ANY
    options: tuple[str, ...] = ANY


R = RefusalReason
HELP = Help()
TALLY = TallyRefused()

CASES: list[tuple[str, str, object]] = [
    # --- the plain form, in every case and spacing ------------------------------------------
    ("SOLO", "TPS 3 COBLOS AMAN", Ping(C1, P.PEMUNGUTAN, S.AMAN, None, False)),
    ("SOLO", "tps 3 coblos aman", Ping(C1, P.PEMUNGUTAN, S.AMAN, None)),
    ("SOLO", "Tps 003 Coblos Aman", Ping(C1, P.PEMUNGUTAN, S.AMAN)),
    ("SOLO", "TpS 3 CoBlOs AmAn", Ping(C1, P.PEMUNGUTAN, S.AMAN)),
    ("SOLO", "TPS003 BUKA AMAN", Ping(C1, P.PEMUNGUTAN, S.AMAN)),
    ("SOLO", "tps#3 buka, aman.", Ping(C1, P.PEMUNGUTAN, S.AMAN, None)),
    ("SOLO", "TPS-03 : pemungutan ; aman !!", Ping(C1, P.PEMUNGUTAN, S.AMAN, None)),
    ("SOLO", "  tps   3    hitung     waspada  ", Ping(C1, P.PENGHITUNGAN, S.WASPADA, None)),
    ("SOLO", "TPS 3 - Hitung - Aman", Ping(C1, P.PENGHITUNGAN, S.AMAN, None)),
    ("SOLO", "TPS 3\ncoblos\naman", Ping(C1, P.PEMUNGUTAN, S.AMAN)),
    ("SOLO", "*TPS 3* _coblos_ aman", Ping(C1, P.PEMUNGUTAN, S.AMAN, None)),
    ("SOLO", "tps.3 coblos aman", Ping(C1, P.PEMUNGUTAN, S.AMAN)),
    (
        "SOLO",
        "3 hitung waspada antrean panjang",
        Ping(C1, P.PENGHITUNGAN, S.WASPADA, "antrean panjang"),
    ),
    ("SOLO", "003 selesai aman", Ping(C1, P.SELESAI_HITUNG, S.AMAN)),
    ("SOLO", "no 3 logistik tiba aman", Ping(C1, P.LOGISTIK_TIBA, S.AMAN)),
    ("SOLO", "No.3 logistik sdh tiba", Ping(C1, P.LOGISTIK_TIBA, None)),
    ("SOLO", "nomor 3 siap aman", Ping(C1, P.PERSIAPAN, S.AMAN)),
    ("SOLO", "TPS 3 persiapan, kondusif", Ping(C1, P.PERSIAPAN, S.AMAN)),
    # --- full codes, with and without dots -------------------------------------------------
    ("SOLO", "16.08.01.1007-003 coblos aman", Ping(C1, P.PEMUNGUTAN, S.AMAN)),
    ("SOLO", "1608011007003 hitung aman", Ping(C1, P.PENGHITUNGAN, S.AMAN)),
    ("SOLO", "16.08.01.1007.003 selesai", Ping(C1, P.SELESAI_HITUNG, None)),
    ("SOLO", "16 08 01 1007 003 kawal", Ping(C1, P.KOTAK_DIKAWAL, None)),
    ("SOLO", "1608011007-3 ppk", Ping(C1, P.DITERIMA_PPK, None)),
    ("SOLO", "TPS 16.08.01.1007-003 aman", Ping(C1, None, S.AMAN)),
    ("JOKO", "16.08.01.1007-003 coblos aman", Ping(C1, P.PEMUNGUTAN, S.AMAN)),
    ("ROVING", "16.08.01.1007-003 coblos aman", Ping(C1, P.PEMUNGUTAN, S.AMAN)),
    ("TWIN", "16.08.02.2035-003 coblos aman", Ping(AJ3, P.PEMUNGUTAN, S.AMAN)),
    # --- one TPS: it may go unnamed --------------------------------------------------------
    ("SOLO", "coblos aman", Ping(C1, P.PEMUNGUTAN, S.AMAN, None, True)),
    ("SOLO", "aman", Ping(C1, None, S.AMAN, None, True)),
    ("SOLO", "hitung", Ping(C1, P.PENGHITUNGAN, None, None, True)),
    ("SOLO", "coblos aman 50 orang antre", Ping(C1, P.PEMUNGUTAN, S.AMAN, "50 orang antre", True)),
    # --- greetings, courtesy, prefixes ----------------------------------------------------
    ("SOLO", "Lapor: TPS 3 aman terkendali", Ping(C1, None, S.AMAN, None)),
    ("SOLO", "/lapor tps 3 coblos aman", Ping(C1, P.PEMUNGUTAN, S.AMAN)),
    ("SOLO", "lapor, tps 3 coblos, situasi aman", Ping(C1, P.PEMUNGUTAN, S.AMAN, None)),
    (
        "SOLO",
        "Siap ndan, TPS 3 pemungutan berjalan lancar, aman",
        Ping(C1, P.PEMUNGUTAN, S.AMAN, None),
    ),
    (
        "SOLO",
        "Izin lapor ndan, TPS 003 sdh dibuka, situasi kondusif",
        Ping(C1, P.PEMUNGUTAN, S.AMAN, None),
    ),
    (
        "SOLO",
        "Selamat pagi komandan, tps 3 logistik sdh tiba aman",
        Ping(C1, P.LOGISTIK_TIBA, S.AMAN),
    ),
    (
        "SOLO",
        "Assalamualaikum, izin melaporkan TPS 3 persiapan aman",
        Ping(C1, P.PERSIAPAN, S.AMAN),
    ),
    ("SOLO", "siap, tps 3 aman", Ping(C1, None, S.AMAN)),
    ("SOLO", "TPS 3 siap", Ping(C1, P.PERSIAPAN, None)),
    ("SOLO", "siap tps 3", Ping(C1, P.PERSIAPAN, None)),
    ("SOLO", "Siap 86 ndan, tps 3 coblos aman", Ping(C1, P.PEMUNGUTAN, S.AMAN)),
    ("SOLO", "Terima kasih ndan, TPS 3 aman", Ping(C1, None, S.AMAN)),
    ("SOLO", "TPS 3 aman, terima kasih", Ping(C1, None, S.AMAN, None)),
    ("SOLO", "Pemungutan suara di TPS 3 berjalan aman", Ping(C1, P.PEMUNGUTAN, S.AMAN)),
    ("SOLO", "update tps 3: hitung, aman", Ping(C1, P.PENGHITUNGAN, S.AMAN)),
    ("SOLO", "Pam TPS 3 aman", Ping(C1, None, S.AMAN)),
    ("SOLO", "tps 3 aman ndan", Ping(C1, None, S.AMAN, None)),
    ("SOLO", "tps 3 aman 86", Ping(C1, None, S.AMAN, None)),
    ("SOLO", "tps 3 coblos, aman. Tks ndan", Ping(C1, P.PEMUNGUTAN, S.AMAN, None)),
    (
        "SOLO",
        "Selamat siang. Izin melaporkan, TPS 003 Dusun Martapura telah selesai penghitungan "
        "suara pada pukul 16.45 WIB. Situasi aman.",
        Ping(C1, P.SELESAI_HITUNG, S.AMAN, "pukul 16.45 WIB"),
    ),
    # --- names before the TPS are skipped, never used ---------------------------------------
    ("SOLO", "Bripka Joko Susanto TPS 3 aman", Ping(C1, None, S.AMAN, None)),
    ("SOLO", "Aiptu Hendra lapor tps 3 hitung aman", Ping(C1, P.PENGHITUNGAN, S.AMAN)),
    ("SOLO", "Dari Bripda Rizky: tps 3 coblos aman", Ping(C1, P.PEMUNGUTAN, S.AMAN)),
    ("SOLO", "Pak Kapolsek, TPS 3 aman", Ping(C1, None, S.AMAN)),
    ("SOLO", "Ini Budi dari TPS 3, situasi aman", Ping(C1, None, S.AMAN)),
    ("SOLO", "kapan tps 3 buka?", Refused(R.NO_KEYWORD, "kapan tps 3 buka?")),
    # --- phases from several words --------------------------------------------------------
    (
        "SOLO",
        "TPS 3 sdh mulai penghitungan suara, aman",
        Ping(C1, P.PENGHITUNGAN, S.AMAN),
    ),
    ("SOLO", "TPS 3 penghitungan selesai aman", Ping(C1, P.SELESAI_HITUNG, S.AMAN)),
    ("SOLO", "tps 3 selesai hitung", Ping(C1, P.SELESAI_HITUNG, None)),
    ("SOLO", "beres beres", Ping(C1, P.SELESAI_HITUNG, None)),  # found by hypothesis
    ("SOLO", "tps 3 selesai selesai aman", Ping(C1, P.SELESAI_HITUNG, S.AMAN)),
    ("SOLO", "tps 3 hitung suara selesai jam 15.10", Ping(C1, P.SELESAI_HITUNG, None, "jam 15.10")),
    (
        "SOLO",
        "tps 3 selesai hitung, kotak dikawal ke PPK",
        Ping(C1, P.KOTAK_DIKAWAL, None, None),
    ),
    ("SOLO", "TPS 3 kotak suara sdh diterima PPK", Ping(C1, P.DITERIMA_PPK, None)),
    ("SOLO", "tps 3 kotak tiba di ppk", Ping(C1, P.DITERIMA_PPK, None)),
    ("SOLO", "tps 3 sdh di ppk", Ping(C1, P.DITERIMA_PPK, None)),
    ("SOLO", "tps 3 otw ppk", Ping(C1, P.KOTAK_DIKAWAL, None)),
    ("SOLO", "tps 3 kotak diantar menuju ppk, aman", Ping(C1, P.KOTAK_DIKAWAL, S.AMAN)),
    (
        "SOLO",
        "TPS 3 kotak sdh dikawal menuju PPK kec. Martapura",
        Ping(C1, P.KOTAK_DIKAWAL, None, "kec. Martapura"),
    ),
    ("SOLO", "TPS 3 diterima ppk jam 21.00", Ping(C1, P.DITERIMA_PPK, None, "jam 21.00")),
    ("SOLO", "tps 3 logistik diterima dari ppk", Ping(C1, P.LOGISTIK_TIBA, None)),
    ("SOLO", "tps 3 ditunda banjir", Ping(C1, P.DITUNDA, None, "banjir")),
    (
        "SOLO",
        "tps 3 pemungutan ditunda, hujan deras",
        Ping(C1, P.DITUNDA, None, "hujan deras"),
    ),
    ("SOLO", "tps 3 coblos selesai", Refused(R.CONFLICTING_PHASE, "coblos selesai")),
    ("SOLO", "tps 3 pencoblosan selesai", Refused(R.CONFLICTING_PHASE, "pencoblosan selesai")),
    ("SOLO", "beres datang", Refused(R.CONFLICTING_PHASE, "beres datang")),  # hypothesis
    ("SOLO", "tps 3 pending", Ping(C1, P.DITUNDA, None)),
    ("JOKO", "tps 12 sdh di ppk", Ping(TKB12, P.DITERIMA_PPK, None)),
    (
        "SOLO",
        "tps 3 pemungutan selesai, mulai hitung",
        Ping(C1, P.PENGHITUNGAN, None),
    ),
    (
        "SOLO",
        "TPS 03 pukul 13.00 selesai pemungutan, lanjut penghitungan",
        Ping(C1, P.PENGHITUNGAN, None, "pukul 13.00"),
    ),
    ("SOLO", "TPS 3 lanjut hitung", Ping(C1, P.PENGHITUNGAN, None)),
    ("SOLO", "tps 3 siap coblos", Ping(C1, P.PERSIAPAN, None)),
    ("SOLO", "tps 3 persiapan selesai", Ping(C1, P.PERSIAPAN, None)),
    ("SOLO", "tps 3 dimulai", Ping(C1, P.PEMUNGUTAN, None)),
    ("SOLO", "tps 3 hitung dimulai", Ping(C1, P.PENGHITUNGAN, None)),
    # --- situations -----------------------------------------------------------------------
    ("SOLO", "TPS 3 ricuh", Ping(C1, None, S.GANGGUAN)),
    ("SOLO", "TPS 3 RICUH massa dorong2an", Ping(C1, None, S.GANGGUAN, "massa dorong2an")),
    ("SOLO", "tps 3 hitung rusuh", Ping(C1, P.PENGHITUNGAN, S.GANGGUAN)),
    (
        "SOLO",
        "tps 3 bentrok antar pendukung",
        Ping(C1, None, S.GANGGUAN, "antar pendukung"),
    ),
    ("SOLO", "TPS 3 waspada, ada provokator", Ping(C1, None, S.WASPADA, "ada provokator")),
    ("SOLO", "tps 3 rawan", Ping(C1, None, S.WASPADA)),
    ("SOLO", "tps 3 situasi tegang", Ping(C1, None, S.WASPADA)),
    ("SOLO", "tps 3 gangguan", Ping(C1, None, S.GANGGUAN)),
    ("SOLO", "TPS 3 KACAU", Ping(C1, None, S.GANGGUAN)),
    ("SOLO", "tps 3 normal", Ping(C1, None, S.AMAN)),
    ("SOLO", "tps 3 rawan, ricuh", Ping(C1, None, S.GANGGUAN)),
    ("SOLO", "TPS 3 nihil", Ping(C1, None, S.AMAN)),
    ("SOLO", "TPS 3 coblos, tdk ada gangguan", Ping(C1, P.PEMUNGUTAN, S.AMAN)),
    ("SOLO", "TPS 3 hitung, nihil kejadian", Ping(C1, P.PENGHITUNGAN, S.AMAN)),
    ("SOLO", "TPS 3 aman tidak ada kendala", Ping(C1, None, S.AMAN)),
    (
        "SOLO",
        "tps 3 coblos, ada kendala listrik",
        Ping(C1, P.PEMUNGUTAN, None, "ada kendala listrik"),
    ),
    # --- negation -------------------------------------------------------------------------
    ("SOLO", "TPS 3 blm buka, aman", Ping(C1, None, S.AMAN, "blm buka")),
    ("SOLO", "tps 3 belum buka", Refused(R.NEGATED, "belum buka")),
    ("SOLO", "tps 3 tidak aman", Refused(R.NEGATED, "tidak aman")),
    ("SOLO", "tps 3 tdk rawan", Refused(R.NEGATED, "tdk rawan")),
    ("SOLO", "tps 3 tdk kondusif", Refused(R.NEGATED, "tdk kondusif")),
    ("SOLO", "tps 3 menunggu logistik", Refused(R.NEGATED, "menunggu logistik")),
    ("SOLO", "TPS 3 hitung blm selesai", Ping(C1, P.PENGHITUNGAN, None, "blm selesai")),
    ("SOLO", "TPS 3 hampir selesai hitung", Ping(C1, P.PENGHITUNGAN, None, "hampir selesai")),
    ("SOLO", "tps 3 blm slesai hitung", Ping(C1, P.PENGHITUNGAN, None, "blm slesai")),
    ("SOLO", "tps 3 akan dibuka", Refused(R.NEGATED, "akan dibuka")),
    ("SOLO", "tps 3 logistik blm datang", Refused(R.NEGATED, "blm datang")),
    ("SOLO", "tps 3 logistik blm datang, aman", Ping(C1, None, S.AMAN, "blm datang")),
    ("SOLO", "tps 3 kotak belum diterima ppk", Refused(R.NEGATED, "belum diterima")),
    ("SOLO", "tps 3 kotak blm dikawal ke ppk", Refused(R.NEGATED, "blm dikawal")),
    ("SOLO", "TPS 3 aman, tidak perlu bantuan", Ping(C1, None, S.AMAN, "tidak perlu bantuan")),
    ("SOLO", "TPS 3 aman tdk ada masalah", Ping(C1, None, S.AMAN, None)),
    # --- one typo -------------------------------------------------------------------------
    ("SOLO", "tps 3 buak aman", Ping(C1, P.PEMUNGUTAN, S.AMAN)),
    ("SOLO", "tps 3 hitng aman", Ping(C1, P.PENGHITUNGAN, S.AMAN)),
    ("SOLO", "tps 3 hitugn", Ping(C1, P.PENGHITUNGAN, None)),
    ("SOLO", "tps 3 selsai", Ping(C1, P.SELESAI_HITUNG, None)),
    ("SOLO", "tps 3 cblos amn", Ping(C1, P.PEMUNGUTAN, S.AMAN)),
    ("SOLO", "tps 3 coblos amaan", Ping(C1, P.PEMUNGUTAN, S.AMAN)),
    ("SOLO", "tps 3 COBLOSSS AMAAAN!!!", Ping(C1, P.PEMUNGUTAN, S.AMAN)),
    ("SOLO", "tps 3 ricuh tp sdh aman", Ping(C1, None, S.GANGGUAN, "tp sdh aman")),  # tp: tapi
    ("SOLO", "tps 3 waspda", Ping(C1, None, S.WASPADA)),
    ("SOLO", "tps 3 gangguab", Ping(C1, None, S.GANGGUAN)),
    ("SOLO", "tps 3 kawl", Ping(C1, P.KOTAK_DIKAWAL, None)),
    ("SOLO", "tps 3 tundaa", Ping(C1, P.DITUNDA, None)),
    ("SOLO", "tps 3 pemungtan aman", Ping(C1, P.PEMUNGUTAN, S.AMAN)),
    ("SOLO", "tps 3 penghitungn", Ping(C1, P.PENGHITUNGAN, None)),
    ("SOLO", "tps 3 persiapn", Ping(C1, P.PERSIAPAN, None)),
    ("SOLO", "TPS 3 logistk tiba", Ping(C1, P.LOGISTIK_TIBA, None)),
    ("SOLO", "tps 3 rcuh", Ping(C1, None, S.GANGGUAN)),
    ("SOLO", "tps 3 rawal", Refused(R.AMBIGUOUS_WORD, "rawal", ("KAWAL", "RAWAN"))),
    ("SOLO", "tps 3 tunta", Refused(R.AMBIGUOUS_WORD, "tunta", ("TUNDA", "TUNTAS"))),
    ("SOLO", "tps 3 ppl", Refused(R.NO_KEYWORD, "ppl")),  # short keywords are exact
    ("SOLO", "tps 3 bukan", Refused(R.NO_KEYWORD)),  # a word, not a typo of BUKA
    ("SOLO", "tps 3 tiga orang", Refused(R.NO_KEYWORD, "tiga orang")),  # not TIBA
    # --- SMS abbreviations ----------------------------------------------------------------
    ("SOLO", "tps 3 sdh buka aman", Ping(C1, P.PEMUNGUTAN, S.AMAN)),
    ("SOLO", "tps 3 udh hitung, sit aman", Ping(C1, P.PENGHITUNGAN, S.AMAN)),
    ("SOLO", "tps3 sdg hitung, kond aman", Ping(C1, P.PENGHITUNGAN, S.AMAN)),
    (
        "SOLO",
        "tps 3 msh coblos, aman, antrian pjg",
        Ping(C1, P.PEMUNGUTAN, S.AMAN, "antrian pjg"),
    ),
    (
        "SOLO",
        "TPS 3 dlm proses penghitungan suara, aman terkendali",
        Ping(C1, P.PENGHITUNGAN, S.AMAN, None),
    ),
    ("SOLO", "tps 3 yg sdh dibuka aman", Ping(C1, P.PEMUNGUTAN, S.AMAN)),
    ("SOLO", "skrg tps 3 lg hitung", Ping(C1, P.PENGHITUNGAN, None)),
    # --- numbers that are not TPS ---------------------------------------------------------
    (
        "SOLO",
        "TPS 3 coblos aman antrean 50 orang",
        Ping(C1, P.PEMUNGUTAN, S.AMAN, "antrean 50 orang"),
    ),
    ("SOLO", "tps 3 coblos 50 org antre", Ping(C1, P.PEMUNGUTAN, None, "50 org antre")),
    ("SOLO", "TPS 3 buka jam 07.00 aman", Ping(C1, P.PEMUNGUTAN, S.AMAN, "jam 07.00")),
    (
        "SOLO",
        "tps 3 selesai hitung pkl 14.30 wib aman",
        Ping(C1, P.SELESAI_HITUNG, S.AMAN, "pkl 14.30 wib"),
    ),
    ("SOLO", "27/11 tps 3 buka aman", Ping(C1, P.PEMUNGUTAN, S.AMAN, "27/11")),
    (
        "SOLO",
        "TPS 3 logistik tiba, surat suara 300 lembar",
        Ping(C1, P.LOGISTIK_TIBA, None, "surat suara 300 lembar"),
    ),
    (
        "SOLO",
        "tps 3 hitung suara, antrean 50 orang",
        Ping(C1, P.PENGHITUNGAN, None, "antrean 50 orang"),
    ),
    (
        "SOLO",
        "TPS 3 pemungutan suara berlangsung, pemilih hadir 180 dari 250 DPT",
        Ping(C1, P.PEMUNGUTAN, None, "pemilih hadir 180 dari 250 DPT"),
    ),
    ("SOLO", "TPS 3 selesai hitung jam 13:30, aman", Ping(C1, P.SELESAI_HITUNG, S.AMAN)),
    ("SOLO", "tps 3 aman, 4 personel siaga", Ping(C1, None, S.AMAN, "4 personel siaga")),
    # --- extra words after the keywords: the note -----------------------------------------
    (
        "SOLO",
        "TPS 3 COBLOS AMAN, pemilih antusias, cuaca cerah",
        Ping(C1, P.PEMUNGUTAN, S.AMAN, "pemilih antusias, cuaca cerah"),
    ),
    (
        "SOLO",
        "TPS 3 coblos. Warga tanya kapan hitung",
        Ping(C1, P.PEMUNGUTAN, None, "Warga tanya kapan hitung"),
    ),
    ("SOLO", "tps 3 coblos aman 👍🙏", Ping(C1, P.PEMUNGUTAN, S.AMAN, None)),
    ("SOLO", "TPS 3 coblos amán", Ping(C1, P.PEMUNGUTAN, S.AMAN)),
    (
        "SOLO",
        "\uff34\uff30\uff33 \uff13 \uff43\uff4f\uff42\uff4c\uff4f\uff53 aman",
        Ping(C1, P.PEMUNGUTAN, S.AMAN),
    ),  # fullwidth
    ("SOLO", "antrean panjang", Refused(R.NO_KEYWORD, "antrean panjang")),
    (
        "SOLO",
        "TPS 3 antrean panjang tapi aman",
        Refused(R.NO_KEYWORD, "antrean panjang tapi aman"),
    ),
    ("SOLO", "TPS 3", Refused(R.NO_KEYWORD, "")),
    ("SOLO", "ok", Refused(R.NO_KEYWORD, "")),
    ("SOLO", "tps 3 sudha buka", Refused(R.NO_KEYWORD, "sudha buka")),
    # --- several TPS: numbers and desa names ----------------------------------------------
    ("JOKO", "TPS 5 coblos aman", Ping(TK5, P.PEMUNGUTAN, S.AMAN, None, False)),
    ("JOKO", "tps 12 hitung", Ping(TKB12, P.PENGHITUNGAN, None)),
    ("JOKO", "6 selesai aman", Ping(TK6, P.SELESAI_HITUNG, S.AMAN)),
    ("JOKO", "TPS 05 Tanjung Kemala, coblos aman", Ping(TK5, P.PEMUNGUTAN, S.AMAN)),
    ("JOKO", "Tanjung Kemala Barat 12 aman", Ping(TKB12, None, S.AMAN)),
    ("JOKO", "tanjung kemala 5 coblos", Ping(TK5, P.PEMUNGUTAN, None)),
    ("JOKO", "desa tanjung kemala tps 6 hitung", Ping(TK6, P.PENGHITUNGAN, None)),
    ("JOKO", "tps 12 ds tanjung kemala barat selesai", Ping(TKB12, P.SELESAI_HITUNG, None)),
    ("JOKO", "tanjung kemala barat coblos aman", Ping(TKB12, P.PEMUNGUTAN, S.AMAN)),
    (
        "JOKO",
        "tanjung kemala coblos aman",
        Refused(R.TPS_AMBIGUOUS, "tanjung kemala", ("Tanjung Kemala 5", "Tanjung Kemala 6")),
    ),
    ("JOKO", "coblos aman", Refused(R.TPS_MISSING, "", ("5", "6", "12"))),
    ("JOKO", "tps 7 coblos", Refused(R.TPS_NOT_ASSIGNED, "7", ("5", "6", "12"))),
    ("JOKO", "tanjung kemala 12 aman", Refused(R.TPS_NOT_ASSIGNED, "tanjung kemala 12")),
    ("JOKO", "tps 5 dan 6 coblos aman", Refused(R.MULTIPLE_TPS)),
    ("JOKO", "TPS 5, 6 aman", Refused(R.MULTIPLE_TPS)),
    ("JOKO", "TPS 5 TPS 6 aman", Refused(R.MULTIPLE_TPS)),
    ("JOKO", "tps 5 6 12 aman", Refused(R.MULTIPLE_TPS)),
    ("JOKO", "TPS 5,6,12 coblos aman", Refused(R.MULTIPLE_TPS)),
    ("JOKO", "tps 5 coblos aman, tps 6 hitung", Refused(R.MULTIPLE_TPS)),
    ("TWIN", "tps 3 coblos aman", Refused(R.TPS_AMBIGUOUS, "3", ("Aman Jaya 3", "Suka Raja 3"))),
    ("TWIN", "TPS 3 Aman", Refused(R.TPS_AMBIGUOUS, "3")),
    ("TWIN", "aman jaya 3 coblos aman", Ping(AJ3, P.PEMUNGUTAN, S.AMAN)),
    ("TWIN", "tps 3 aman jaya coblos", Ping(AJ3, P.PEMUNGUTAN, None)),
    ("TWIN", "aman jaya aman", Ping(AJ3, None, S.AMAN)),
    ("TWIN", "suka raja 3 hitung waspada", Ping(SR3, P.PENGHITUNGAN, S.WASPADA)),
    ("TWIN", "sukaraja 3 hitung", Ping(SR3, P.PENGHITUNGAN, None)),
    ("TWIN", "tps 1 kurungan nyawa ii selesai", Ping(KN2_1, P.SELESAI_HITUNG, None)),
    ("TWIN", "Kurungan Nyawa II 1 aman", Ping(KN2_1, None, S.AMAN)),
    ("TWIN", "kurungan nyawa 4 selesai", Ping(KN4, P.SELESAI_HITUNG, None)),
    ("TWIN", "tps 4 aman", Ping(KN4, None, S.AMAN)),
    ("ROVING", "tps 3 coblos aman", Refused(R.TPS_NOT_ASSIGNED, "3", ())),
    ("ROVING", "coblos aman", Refused(R.TPS_MISSING, "", ())),
    # --- not a TPS ------------------------------------------------------------------------
    ("SOLO", "tps 0 aman", Refused(R.TPS_INVALID, "0")),
    ("SOLO", "tps 1000 aman", Refused(R.TPS_INVALID, "1000")),
    ("SOLO", "16080110070003 aman", Refused(R.TPS_INVALID, "16080110070003")),
    ("SOLO", "16.08.01.1007-000 aman", Refused(R.TPS_INVALID, "16.08.01.1007-000")),
    ("SOLO", "081234567890 coblos aman", Refused(R.TPS_INVALID, "81234567890")),
    # --- vote tallies: never stored -------------------------------------------------------
    ("SOLO", "paslon 1: 120 paslon 2: 98", TALLY),
    ("SOLO", "TPS 3 suara 01 = 150", TALLY),
    ("SOLO", "hasil 1-230 2-110", TALLY),
    ("SOLO", "sah 300 tidak sah 12", TALLY),
    ("SOLO", "TPS 3 selesai hitung. Paslon 01: 145, Paslon 02: 97, tdk sah 4", TALLY),
    ("SOLO", "01: 150, 02: 98", TALLY),
    ("SOLO", "tps 3 hasil paslon 02 menang", TALLY),
    ("SOLO", "Perolehan suara TPS 3: 01=120 02=110 03=45", TALLY),
    ("SOLO", "C1 TPS 3: paslon 1 dapat 130 suara, paslon 2 dapat 95 suara", TALLY),
    ("SOLO", "tps 3 selesai, suara sah 280", TALLY),
    ("SOLO", "INSIDEN 3 lainnya 2 saksi protes, paslon 1: 120 paslon 2: 98", TALLY),
    ("JOKO", "tps 5 hitung: capres 01 87 capres 02 112 capres 03 40", TALLY),
    ("SOLO", "tps 3 rekap: 1=130, 2=95", TALLY),
    ("SOLO", "no urut 1 = 150, no urut 2 = 98", TALLY),
    ("SOLO", "status tps 3 paslon 1 unggul", TALLY),
    (
        "SOLO",
        "tps 3 buka 07:00 tutup 13:00",
        Ping(C1, P.PEMUNGUTAN, None, "07:00, tutup 13:00"),
    ),
    # --- incidents ------------------------------------------------------------------------
    (
        "SOLO",
        "INSIDEN 3 RICUH 3 massa berkumpul di depan TPS",
        Incident(C1, Cat.KERICUHAN, 3, "massa berkumpul di depan TPS"),
    ),
    (
        "SOLO",
        "INSIDEN 3 RICUH 3: massa berkumpul",
        Incident(C1, Cat.KERICUHAN, 3, "massa berkumpul"),
    ),
    (
        "SOLO",
        "insiden tps 3 demo 2 warga protes DPT",
        Incident(C1, Cat.UNJUK_RASA, 2, "warga protes DPT"),
    ),
    (
        "SOLO",
        "Insiden TPS 003 politik uang 2 ada pembagian amplop semalam",
        Incident(C1, Cat.POLITIK_UANG, 2, "ada pembagian amplop semalam"),
    ),
    (
        "SOLO",
        "insiden 3 money politik 3 tim sukses bagi2 uang",
        Incident(C1, Cat.POLITIK_UANG, 3, "tim sukses bagi2 uang"),
    ),
    ("SOLO", "INSIDEN 3 serangan fajar 2 warga terima amplop", Incident(C1, Cat.POLITIK_UANG, 2)),
    (
        "SOLO",
        "insiden tps 3 intimidasi 3 saksi diancam oknum",
        Incident(C1, Cat.INTIMIDASI, 3, "saksi diancam oknum"),
    ),
    ("SOLO", "insiden 3 ancaman 2 kpps ditekan", Incident(C1, Cat.INTIMIDASI, 2)),
    (
        "SOLO",
        "insiden tps 3 logistik 2 surat suara kurang 20 lembar",
        Incident(C1, Cat.LOGISTIK, 2, "surat suara kurang 20 lembar"),
    ),
    ("SOLO", "insiden 3 banjir 3 air masuk TPS", Incident(C1, Cat.BENCANA_CUACA, 3)),
    ("SOLO", "insiden tps 3 hujan 1 tenda bocor", Incident(C1, Cat.BENCANA_CUACA, 1)),
    (
        "SOLO",
        "INSIDEN TPS 3 bencana_cuaca 2 angin kencang",
        Incident(C1, Cat.BENCANA_CUACA, 2, "angin kencang"),
    ),
    (
        "SOLO",
        "insiden 3 laka 2 motor petugas jatuh",
        Incident(C1, Cat.KECELAKAAN, 2, "motor petugas jatuh"),
    ),
    ("SOLO", "insiden tps 3 kecelakaan 3 mobil logistik terbalik", Incident(C1, Cat.KECELAKAAN, 3)),
    ("SOLO", "insiden 3 lainnya 1 listrik padam", Incident(C1, Cat.LAINNYA, 1, "listrik padam")),
    ("SOLO", "insiden 3 lain 1 genset mati", Incident(C1, Cat.LAINNYA, 1, "genset mati")),
    (
        "SOLO",
        "insiden tps 3 ricuh sev 4 massa bawa sajam",
        Incident(C1, Cat.KERICUHAN, 4, "massa bawa sajam"),
    ),
    (
        "SOLO",
        "insiden tps 3 ricuh tingkat 2 adu mulut",
        Incident(C1, Cat.KERICUHAN, 2, "adu mulut"),
    ),
    ("SOLO", "insiden tps 3 ricuh tingkat sedang adu mulut", Incident(C1, Cat.KERICUHAN, 2)),
    (
        "SOLO",
        "insiden tps 3 ricuh berat pelemparan batu",
        Incident(C1, Cat.KERICUHAN, 3, "pelemparan batu"),
    ),
    (
        "SOLO",
        "insiden tps 3 ricuh sangat berat ada korban",
        Incident(C1, Cat.KERICUHAN, 4, "ada korban"),
    ),
    ("SOLO", "insiden ricuh 2 massa berkumpul", Incident(C1, Cat.KERICUHAN, 2, "massa berkumpul")),
    ("SOLO", "insidn tps 3 ricuh 2 massa", Incident(C1, Cat.KERICUHAN, 2, "massa")),
    ("SOLO", "insiden tps 3 ricu 2 massa", Incident(C1, Cat.KERICUHAN, 2, "massa")),
    ("SOLO", "kejadian tps 3 banjir 2 tps tergenang", Incident(C1, Cat.BENCANA_CUACA, 2)),
    (
        "SOLO",
        "insiden tps 3 unjuk rasa 2 warga tolak hasil",
        Incident(C1, Cat.UNJUK_RASA, 2, "warga tolak hasil"),
    ),
    (
        "SOLO",
        "insiden tps 3 politik_uang 2 ada bagi sembako",
        Incident(C1, Cat.POLITIK_UANG, 2, "ada bagi sembako"),
    ),
    (
        "SOLO",
        "insiden tps 3 demo 2 3 orang provokator",
        Incident(C1, Cat.UNJUK_RASA, 2, "3 orang provokator"),
    ),
    ("SOLO", "lapor insiden tps 3 ricuh 2 massa", Incident(C1, Cat.KERICUHAN, 2, "massa")),
    ("SOLO", "lapsus tps 3 demo 2 orasi", Incident(C1, Cat.UNJUK_RASA, 2, "orasi")),
    (
        "SOLO",
        "insiden tps 3 tawuran tingkat ringan 2 pemuda",
        Incident(C1, Cat.KERICUHAN, 1, "2 pemuda"),
    ),
    (
        "SOLO",
        "insiden tps 3 ricuh kritis massa bakar ban",
        Incident(C1, Cat.KERICUHAN, 4, "massa bakar ban"),
    ),
    ("JOKO", "insiden tps 12 demo 1 orasi damai", Incident(TKB12, Cat.UNJUK_RASA, 1)),
    ("TWIN", "insiden aman jaya 3 ricuh 2 massa", Incident(AJ3, Cat.KERICUHAN, 2, "massa")),
    (
        "ROVING",
        "INSIDEN 16.08.01.1007-003 ricuh 3 massa berkumpul",
        Incident(C1, Cat.KERICUHAN, 3, "massa berkumpul"),
    ),
    ("JOKO", "insiden ricuh 2 massa", Refused(R.TPS_MISSING, "", ("5", "6", "12"))),
    ("SOLO", "insiden tps 9 ricuh 2 massa", Refused(R.TPS_NOT_ASSIGNED, "9")),
    ("TWIN", "insiden tps 3 ricuh 2 massa", Refused(R.TPS_AMBIGUOUS, "3")),
    (
        "SOLO",
        "insiden tps 3 ricuh massa berkumpul",
        Refused(R.INCIDENT_SEVERITY, "massa berkumpul"),
    ),
    ("SOLO", "insiden tps 3 ricuh 5 massa", Refused(R.INCIDENT_SEVERITY, "5")),
    (
        "SOLO",
        "insiden tps 3 ricuh 50 orang bentrok",
        Refused(R.INCIDENT_SEVERITY, "50 orang bentrok"),
    ),
    (
        "SOLO",
        "insiden tps 3 maling 2 hp hilang",
        Refused(R.INCIDENT_CATEGORY, "maling"),
    ),
    ("SOLO", "insiden tps 3 ricuh 2", Refused(R.INCIDENT_TEXT, "")),
    ("SOLO", "insiden", Refused(R.INCIDENT_CATEGORY, "")),
    # --- SOS: never refused ---------------------------------------------------------------
    ("SOLO", "SOS", SOS(None, "")),
    ("SOLO", "sos!!!", SOS(None, "")),
    ("SOLO", "S.O.S", SOS(None, "")),
    ("SOLO", "sos tps 3 massa bawa sajam", SOS(C1, "sos tps 3 massa bawa sajam")),
    ("SOLO", "TPS 3 SOS massa ricuh", SOS(C1, "TPS 3 SOS massa ricuh")),
    ("SOLO", "darurat!! tps 3", SOS(C1)),
    ("SOLO", "tolong", SOS(None, "")),
    ("SOLO", "darurat", SOS(None, "")),
    ("SOLO", "Tolong ndan, massa ngamuk di TPS 3", SOS(C1)),
    ("SOLO", "minta bantuan personel, tps 3 ricuh", SOS(C1)),
    ("SOLO", "mohon bantuan", SOS(None, "mohon bantuan")),
    ("SOLO", "bantuan segera ke tps 3!", SOS(C1)),
    ("SOLO", "TPS 3 ricuh!! minta bantuan", SOS(C1, "TPS 3 ricuh!! minta bantuan")),
    ("SOLO", "tps 3 ricuh, butuh backup", SOS(C1)),
    ("JOKO", "SOS tps 7 ricuh", SOS(None, "SOS tps 7 ricuh")),
    ("TWIN", "sos tps 3", SOS(None)),
    ("TWIN", "sos aman jaya 3 ricuh", SOS(AJ3)),
    ("ROVING", "sos 16.08.01.1007-003", SOS(C1)),
    ("SOLO", "SOS paslon 1: 120 paslon 2: 98", SOS(None)),
    # --- help -----------------------------------------------------------------------------
    ("SOLO", "BANTUAN", HELP),
    ("SOLO", "bantuan?", HELP),
    ("SOLO", "help", HELP),
    ("SOLO", "?", HELP),
    ("SOLO", "/start", HELP),
    ("SOLO", "/help", HELP),
    ("SOLO", "bantuan cara lapor", HELP),
    ("SOLO", "menu", HELP),
    ("SOLO", "bantuann", HELP),
    ("SOLO", "tolong format lapor", HELP),
    # --- status ---------------------------------------------------------------------------
    ("SOLO", "STATUS", StatusQuery()),
    ("SOLO", "status?", StatusQuery()),
    ("SOLO", "/status@PoskoBot", StatusQuery()),
    ("SOLO", "cek status tps 3", StatusQuery(tps=C1)),
    ("SOLO", "statsu", StatusQuery()),
    ("SOLO", "status tps 3 aman", Ping(C1, None, S.AMAN)),
    ("SOLO", "status tps 9", Refused(R.TPS_NOT_ASSIGNED, "9")),
    ("TWIN", "status", StatusQuery()),
    ("TWIN", "status 3", Refused(R.TPS_AMBIGUOUS, "3")),
    ("TWIN", "status aman jaya 3", StatusQuery(tps=AJ3)),
    ("JOKO", "cek tps 12", StatusQuery(tps=TKB12)),
    # --- enrolment ------------------------------------------------------------------------
    ("ROVING", "DAFTAR 482913", Enrol(code="482913")),
    ("ROVING", "daftar 482 913", Enrol(code="482913")),
    ("ROVING", "Daftar: 482913 Bripka Joko", Enrol(code="482913")),
    ("ROVING", "daftar kode 482913", Enrol(code="482913")),
    ("ROVING", "dafatr 482913", Enrol(code="482913")),
    ("ROVING", "/daftar 482913", Enrol(code="482913")),
    ("ROVING", "daftar 48291", Refused(R.ENROL_CODE, "48291")),
    ("ROVING", "daftar", Refused(R.ENROL_CODE, "")),
    ("ROVING", "daftar Bripka Joko Susanto", Refused(R.ENROL_CODE, "Bripka Joko Susanto")),
    # --- nothing to read ------------------------------------------------------------------
    ("SOLO", "", Refused(R.EMPTY, "")),
    ("SOLO", "   ", Refused(R.EMPTY)),
    ("SOLO", "👍", Refused(R.EMPTY, "")),
    ("SOLO", "Siap 86", Refused(R.EMPTY, "Siap 86")),
    ("SOLO", "siap ndan", Refused(R.EMPTY)),
    ("SOLO", "terima kasih", Refused(R.EMPTY)),
    ("SOLO", "...", Refused(R.EMPTY)),
    ("SOLO", "hi", Refused(R.EMPTY)),
    ("SOLO", "P", Refused(R.EMPTY)),
    # --- the chain of custody of the boxes: leading keyword, TIBA and SERAH in full shape ---
    ("SOLO", "SEGEL 3 0012345 0012346", Custody(C1, CS.SEGEL, ("0012345", "0012346"))),
    ("SOLO", "segel tps 3 A-77, A-78;A-79", Custody(C1, CS.SEGEL, ("A-77", "A-78", "A-79"))),
    ("SOLO", "Disegel 3 SG991", Custody(C1, CS.SEGEL, ("SG991",))),
    ("SOLO", "segel SG1 SG2", Custody(C1, CS.SEGEL, ("SG1", "SG2"))),  # one TPS: implied
    ("JOKO", "segel SG1", Refused(R.TPS_MISSING)),
    ("SOLO", "segel 3", Refused(R.CUSTODY_FIELDS, "segel 3")),
    ("SOLO", "BERANGKAT 3 BG 1234 XY", Custody(C1, CS.BERANGKAT, vehicle="BG 1234 XY")),
    ("SOLO", "brkt tps 3", Custody(C1, CS.BERANGKAT, vehicle=None)),
    ("JOKO", "berangkat 5 truk desa", Custody(TK5, CS.BERANGKAT, vehicle="truk desa")),
    ("JOKO", "berangkat 9 truk", Refused(R.TPS_NOT_ASSIGNED, "9")),
    ("SOLO", "TIBA 3 PPK", Custody(C1, CS.TIBA)),
    ("SOLO", "tiba di ppk tps 3", Custody(C1, CS.TIBA)),
    ("SOLO", "tiba 3 logistik", Ping(C1, P.LOGISTIK_TIBA, None)),  # not at the PPK
    (
        "SOLO",
        "SERAH 3 BA-017/PPK Siti Aminah",
        Custody(C1, CS.SERAH_TERIMA, ba="BA-017/PPK", receiver="Siti Aminah"),
    ),
    (
        "SOLO",
        "serah tps 3 Pak Darmo",  # no berita acara number: stored, and Posko is alerted
        Custody(C1, CS.SERAH_TERIMA, ba=None, receiver="Pak Darmo"),
    ),
    ("SOLO", "SERAH 3 BA-17", Refused(R.CUSTODY_FIELDS)),
    ("SOLO", "serah 3 ke ppk", Ping(C1, P.DITERIMA_PPK, None)),  # the phase, as before
]
