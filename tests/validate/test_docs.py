"""docs/validation.md lists every kind of finding the code can report."""

from pathlib import Path

from datacommune.validate.reports import hints

DOC = Path(__file__).resolve().parents[2] / "docs" / "validation.md"


def test_every_kind_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [kind for kind in hints.TITLES if f"| `{kind}` | {hints.TITLES[kind]} |" not in text]
    assert missing == []


def test_every_kind_has_a_french_title_and_something_to_do() -> None:
    for kind in hints.TITLES:
        assert hints.hint(kind, None) or kind in ("type-error",), kind
