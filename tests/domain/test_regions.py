"""NUTS validation: what a code may look like, and when an unknown code is amended or refused."""

from __future__ import annotations

import pytest

from domain.regions import RegionIndex, region_filter


@pytest.mark.parametrize("raw", ["DE1\n", "DE1\r\n", "\tDE1", "DE\n1", "DE1\x00"])
def test_a_code_with_a_control_character_is_no_code(raw: str) -> None:
    """``re.match`` with ``$`` accepted ``DE1\\n``, and stripping all whitespace hid it."""
    with pytest.raises(ValueError, match="is not a NUTS code"):
        RegionIndex.default().normalise(raw)


def test_spaces_and_case_are_forgiven() -> None:
    assert RegionIndex.default().normalise(" de 11 ").code == "DE11"


def test_an_unknown_code_is_amended_to_its_parent_for_data_and_refused_as_a_filter() -> None:
    index = RegionIndex.default()
    amended = index.normalise("AT3Q")
    assert amended.code == "AT3" and amended.note and "kept as its parent AT3" in amended.note
    with pytest.raises(ValueError, match=r"unknown NUTS code 'AT3Q' \(the nearest known region is AT3\)"):
        region_filter("AT3Q")


def test_a_filter_still_takes_nuts_2021_codes_and_any_level() -> None:
    assert region_filter("NL332") == "NL361"
    assert [region_filter(c) for c in ("AT", "AT3", "AT33", "AT332")] == ["AT", "AT3", "AT33", "AT332"]
