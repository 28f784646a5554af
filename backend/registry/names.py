"""Indonesian personal names and Polri ranks for generated officers.

The name lists mix what a South Sumatra Polres roster looks like: Malay/Palembang and Komering
names, Javanese names (Belitang is an old transmigration area) and a few Batak family names.
"""

import random
from dataclasses import dataclass


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


MALE_FIRST = _words(
    """
    Ahmad Agus Andi Anton Ari Arif Bagus Bambang Bayu Beni Budi Dani Darmawan Dedi Dimas
    Dodi Edi Eko Erwin Fajar Fauzan Fikri Guntur Hadi Hamdan Hendra Heri Ilham Imam Indra
    Irfan Iwan Jaka Joko Kiki Lukman Mahendra Marzuki Nanang Novri Oki Pandu Rahmat Rendi
    Reza Rian Rizal Rizky Rudi Sandi Sapri Slamet Sugeng Syahrul Taufik Teguh Tri Wahyu
    Wawan Yoga Yudi Yusuf Zainal Zulkifli Firman Gilang Hasan Jefri Kurnia Robi
    """
)
FEMALE_FIRST = _words(
    """
    Anisa Ayu Dewi Dian Eka Fitri Indah Intan Lestiana Maya Mega Nurul Novita Putri Rahma
    Rina Sari Siti Tiara Wulan
    """
)
MALE_LAST = _words(
    """
    Saputra Pratama Wijaya Setiawan Kurniawan Hidayat Nugroho Santoso Syahputra Gunawan
    Susanto Hermawan Prasetyo Ramadhan Firdaus Suryadi Rahman Effendi Permana Irawan Sanjaya
    Hakim Maulana Febriansyah Aprianto Julianto Fadillah Hasibuan Siregar Harahap Lubis
    Nasution Simanjuntak Pohan Alamsyah Iskandar Mulyadi Rosadi Herwansyah Darmadi Yulianto
    Purnomo Wibowo Utomo Hartono Subagyo
    """
)
FEMALE_LAST = _words(
    """
    Lestari Wulandari Sari Rahmawati Anggraini Puspita Oktaviani Safitri Handayani
    Permatasari Maharani Novianti Septiani Utami
    """
)


@dataclass(frozen=True, slots=True)
class Rank:
    """A Polri rank, how often it is drawn, and the plausible age range of its holders."""

    name: str
    weight: float
    min_age: int
    max_age: int


# Brigadir and Bintara ranks do most TPS duty; a few Perwira (Ipda, Iptu, AKP) rove too.
RANKS = (
    Rank("Bripda", 0.24, 19, 27),
    Rank("Briptu", 0.20, 23, 32),
    Rank("Brigpol", 0.21, 27, 38),
    Rank("Bripka", 0.17, 32, 45),
    Rank("Aipda", 0.08, 38, 50),
    Rank("Aiptu", 0.07, 42, 57),
    Rank("Ipda", 0.01, 30, 55),
    Rank("Iptu", 0.007, 30, 52),
    Rank("AKP", 0.004, 32, 50),
)
RANK_WEIGHTS = tuple(r.weight for r in RANKS)

# Every rank the importer accepts, canonical spelling; keys are lower-case aliases.
POLRI_RANKS = {
    name.lower(): name
    for name in (
        "Bharada",
        "Bharatu",
        "Bharaka",
        "Abripda",
        "Abriptu",
        "Abrip",
        "Bripda",
        "Briptu",
        "Brigpol",
        "Bripka",
        "Aipda",
        "Aiptu",
        "Ipda",
        "Iptu",
        "AKP",
        "Kompol",
        "AKBP",
        "Kombes Pol",
        "Brigjen Pol",
        "Irjen Pol",
        "Komjen Pol",
        "Jenderal Pol",
    )
} | {"brigadir": "Brigpol", "kombes": "Kombes Pol"}


def draw_rank(rng: random.Random) -> Rank:
    """Draw a rank by its weight."""
    return rng.choices(RANKS, weights=RANK_WEIGHTS)[0]


def draw_name(rng: random.Random, *, is_female: bool) -> str:
    """Draw a plausible Indonesian name: one or two given names and usually a family-style name."""
    first = FEMALE_FIRST if is_female else MALE_FIRST
    last = FEMALE_LAST if is_female else MALE_LAST
    parts = [rng.choice(first)]
    roll = rng.random()
    if not is_female and roll < 0.18:
        prefix = rng.choice(("Muhammad", "M.", "Ahmad"))
        if prefix != parts[0]:
            parts.insert(0, prefix)
    elif roll < 0.35:
        second = rng.choice(first)
        if second != parts[0]:
            parts.append(second)
    if rng.random() < 0.92:
        parts.append(rng.choice(last))
    return " ".join(parts)
