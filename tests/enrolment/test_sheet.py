"""The printed sheet, without a browser: parsed, its QR codes read back, its links redeemed."""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser

import qrcode
from sqlalchemy import Engine, text

from backend.enrolment.sheet import HOW_TO, SheetCard, qr_svg, render
from schemas.field import OfficerCard
from tests.enrolment.conftest import BELITANG, Api, code_of

VOID = {"meta", "br", "img", "input", "link", "hr"}


@dataclass
class Node:
    """An element of the parsed page."""

    tag: str
    attrs: dict[str, str]
    children: list["Node"] = field(default_factory=list)
    text: str = ""
    raw: str = ""  # the element's source (kept for <svg>)

    def find_all(self, tag: str, cls: str | None = None) -> list["Node"]:
        """Descendants with this tag (and class)."""
        found = []
        for c in self.children:
            if c.tag == tag and (cls is None or cls in c.attrs.get("class", "").split()):
                found.append(c)
            found.extend(c.find_all(tag, cls))
        return found

    def all_text(self) -> str:
        """The text inside, tags removed."""
        return self.text + "".join(c.all_text() for c in self.children)


class TreeBuilder(HTMLParser):
    """html.parser into Nodes; a tag closed out of order fails (the page must be well formed)."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source = source
        self.root = Node("root", {})
        self.stack = [self.root]
        self.starts: list[int] = []
        self.feed(source)
        self.close()
        assert self.stack == [self.root], [n.tag for n in self.stack]

    def _offset(self) -> int:
        line, col = self.getpos()
        return sum(len(row) + 1 for row in self.source.split("\n")[: line - 1]) + col

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)
            self.starts.append(self._offset())

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        node = self.stack.pop()
        assert node.tag == tag, (node.tag, tag)
        start = self.starts.pop()
        end = self.source.index(">", self._offset()) + 1
        node.raw = self.source[start:end]

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(Node("#text", {}, text=data))


def parse(page: str) -> Node:
    """The page as a tree."""
    return TreeBuilder(page).root


def modules_of(svg: str) -> set[tuple[int, int]]:
    """The dark modules a QR path draws: one unit square `Mx,yH..V..H..z` each."""
    path = re.search(r' d="([^"]+)"', svg)
    assert path is not None
    return {(int(x), int(y)) for x, y in re.findall(r"M(\d+),(\d+)H", path.group(1))}


def modules_for(link: str, border: int = 2) -> set[tuple[int, int]]:
    """The dark modules of the QR code of `link`, as the qrcode package encodes it."""
    q = qrcode.QRCode(border=0)
    q.add_data(link)
    q.make(fit=True)
    return {
        (x + border, y + border)
        for y, row in enumerate(q.get_matrix())
        for x, dark in enumerate(row)
        if dark
    }


def _cards(page: Node) -> list[Node]:
    return page.find_all("article", "card")


def test_sheet001_one_card_per_officer_grouped_by_polsek_and_sorted_by_name(
    api: Api, engine: Engine
) -> None:
    with engine.begin() as c:  # names out of NRP order, to see the sort
        c.execute(text("UPDATE officer SET name = 'Zainal' WHERE nrp = '85010002'"))
        c.execute(text("UPDATE officer SET name = 'Ahmad' WHERE nrp = '85010003'"))
    r = api.call("oku-commander", "POST", "/enrolments?format=html", {})
    assert r.status_code == 201 and r.headers["content-type"].startswith("text/html")
    assert r.headers["cache-control"] == "no-store"
    page = parse(r.text)
    sections = page.find_all("section", "unit")
    assert [s.attrs["data-unit"] for s in sections] == ["polres-oku-timur", BELITANG]
    assert [c.attrs["data-nrp"] for c in _cards(sections[1])] == ["85010003", "85010002"]
    assert sections[1].find_all("h2")[0].all_text() == "Polsek Belitang — 2 petugas"
    cards = _cards(page)
    assert sorted(c.attrs["data-nrp"] for c in cards) == sorted(api.mini.officer_nrps)
    for card in cards:
        words = card.all_text()
        assert HOW_TO in words
        assert "Bripka" in words and f"NRP {card.attrs['data-nrp']}" in words
        assert re.search(r"Berlaku s\.d\. \d\d-\d\d-\d{4} \d\d:\d\d WIB", words)
    # Voting day 08:00 WIB on the exercise clock, plus 48 hours.
    assert "Berlaku s.d. 29-11-2024 08:0" in cards[0].all_text()
    # Print rules: A4, a page per Polsek, never a card cut in two.
    style = page.find_all("style")[0].all_text()
    assert "@page{size:A4" in style
    assert "section.unit+section.unit{break-before:page" in style
    assert ".card{break-inside:avoid" in style


def test_sheet002_each_qr_encodes_exactly_its_cards_link_and_the_link_works(api: Api) -> None:
    r = api.call("commander", "POST", "/enrolments?format=html", {"polsek": BELITANG})
    cards = _cards(parse(r.text))
    assert len(cards) == 2
    svgs = [c.find_all("svg")[0].raw for c in cards]
    assert len(set(svgs)) == 2
    for card, svg in zip(cards, svgs, strict=True):
        link = card.attrs["data-link"]
        assert link.startswith(api.server.url + "/lapor/#daftar=pke_")
        # Made from exactly this link: generated again it is the same, and its modules are
        # those the qrcode package encodes for the link (read back from the drawn squares).
        assert svg == qr_svg(link)
        assert modules_of(svg) == modules_for(link)
        assert modules_of(svg) != modules_for(link + "x")
        redeemed = api.redeem(code_of(link))
        assert redeemed.status_code == 200
        assert redeemed.json()["officer"]["nrp"] == card.attrs["data-nrp"]


def test_sheet003_accept_text_html_gives_the_sheet_and_json_stays_the_default(api: Api) -> None:
    html = api.call(
        "commander", "POST", "/enrolments", {"nrp": "85010000"}, headers={"accept": "text/html"}
    )
    assert html.headers["content-type"].startswith("text/html")
    assert len(_cards(parse(html.text))) == 1
    plain = api.call("commander", "POST", "/enrolments", {"nrp": "85010000"})
    assert plain.headers["content-type"] == "application/json"
    forced = api.call(
        "commander",
        "POST",
        "/enrolments?format=json",
        {"nrp": "85010000"},
        headers={"accept": "text/html"},
    )
    assert forced.json()["count"] == 1


def test_sheet004_every_value_is_escaped() -> None:
    hostile = OfficerCard(
        nrp='1"><script>alert(1)</script>',
        name="<img src=x onerror=alert(2)> & 'Budi'",
        rank="</style><b>AKP</b>",
        unit_code='u" data-x="1',
        unit_name="Polsek <i>Satu</i>",
    )
    link = 'https://posko.example/lapor/#daftar=pke_a"b<c>'
    page_source = render(
        [SheetCard(hostile, link, datetime(2024, 11, 27, 1, tzinfo=UTC))],
        made_at=datetime(2024, 11, 26, 1, tzinfo=UTC),
        title="<title>x</title>",
    )
    page = parse(page_source)
    assert page.find_all("script") == [] and page.find_all("img") == []
    assert page.find_all("i") == [] and page.find_all("b") == []
    (card,) = _cards(page)
    assert card.attrs["data-nrp"] == hostile.nrp
    assert card.attrs["data-link"] == link
    assert hostile.name in card.all_text() and "</style><b>AKP</b>" in card.all_text()
    assert page.find_all("section", "unit")[0].attrs["data-unit"] == hostile.unit_code
    assert page.find_all("title")[0].all_text() == "<title>x</title>"
    assert card.find_all("svg")[0].raw == qr_svg(link)


def test_sheet005_an_empty_selection_says_so() -> None:
    page = render([], made_at=datetime(2024, 11, 26, tzinfo=UTC), title="Lembar")
    assert _cards(parse(page)) == []
    assert "Tidak ada petugas" in page
