"""The stylesheet the screens load is well formed (a lost brace silently unstyles the rest)."""

from pathlib import Path

CSS = Path(__file__).resolve().parents[2] / "dashboard" / "assets" / "posko.css"


def test_every_rule_of_the_stylesheet_is_closed() -> None:
    depth, line_no = 0, 1
    opened_at: list[int] = []
    in_comment = False
    text = CSS.read_text()
    for i, ch in enumerate(text):
        if text.startswith("/*", i):
            in_comment = True
        elif in_comment and text.startswith("*/", i - 1):
            in_comment = False
        if ch == "\n":
            line_no += 1
        if in_comment:
            continue
        if ch == "{":
            depth += 1
            opened_at.append(line_no)
        elif ch == "}":
            assert depth > 0, f"posko.css:{line_no}: '}}' closes nothing"
            depth -= 1
            opened_at.pop()
    assert depth == 0, f"posko.css: rules opened at lines {opened_at} are never closed"
