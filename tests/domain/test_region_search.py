"""The region picker's search over the shipped NUTS tables."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.regions import RegionIndex

INDEX = RegionIndex.default()


def codes(query: str, **kw: int) -> list[str]:
    return [r.code for r in INDEX.search(query, **kw)]


def test_names_and_codes_at_any_level() -> None:
    assert codes("stutt") == ["DE11", "DE111"]
    assert codes("de11")[:3] == ["DE11", "DE111", "DE112"]  # the exact code, then those inside it
    assert codes("DE", limit=3) == ["DE", "DE1", "DE2"]
    assert codes("zurich") == ["CH04", "CH040"]  # no accents needed
    assert codes("País Vasco") == ["ES21"]
    assert codes("germany") == ["DE"]


def test_word_starts_before_inner_matches_and_level_filter() -> None:
    wien = codes("wien")
    assert wien.index("AT13") < wien.index("AT126")  # "Wien" before "Wiener Umland"
    assert codes("bayern", level=1) == ["DE2"]
    assert codes("stuttgart", level=3) == ["DE111"]
    assert codes("") == [] and codes("   ") == []
    assert codes("qqqq") == []


@given(st.text(max_size=12))
def test_any_text_is_a_query(query: str) -> None:
    found = INDEX.search(query, limit=5)
    assert len(found) <= 5
    assert all(r.code in INDEX for r in found)
