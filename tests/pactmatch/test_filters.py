"""User-typed countries and regions: one check for the API and the CLI, with one error shape."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import FieldIssue, InvalidInputError
from graph.base import OrganisationFilter, PartnershipFilter
from pactmatch.filters import (
    build_filters,
    check_country_filter,
    check_place,
    organisation_filter,
    partnership_filter,
)


def test_a_country_is_normalised_whatever_its_spelling() -> None:
    assert [check_country_filter(c) for c in ("de", " UK", "EL", "gr")] == ["DE", "GB", "GR", "GR"]


def test_a_bad_country_is_named_in_the_message_and_as_a_field_issue_only_when_a_field_is_given() -> None:
    with pytest.raises(InvalidInputError) as plain:
        check_country_filter("XX")
    assert str(plain.value).startswith("country: unknown country code 'XX'") and plain.value.issues == []
    with pytest.raises(InvalidInputError) as body:
        check_country_filter("XX", "country")
    assert str(body.value) == str(plain.value)
    assert body.value.issues == [FieldIssue("country", str(plain.value).removeprefix("country: "))]


@given(st.text(max_size=6))
def test_any_text_is_a_country_code_or_an_invalid_input(value: str) -> None:
    try:
        code = check_country_filter(value)
    except InvalidInputError as exc:
        assert str(exc).startswith("country: ")
    else:
        assert len(code) == 2 and code.isupper()


def test_empty_filters_are_no_filters_and_the_country_is_checked_before_the_region() -> None:
    assert check_place("", "") == (None, None)
    assert check_place("el", "EL30") == ("GR", "EL30")
    with pytest.raises(InvalidInputError, match=r"^country: "):
        check_place("XX", "ZZ99")
    with pytest.raises(InvalidInputError, match="unknown NUTS code 'ZZ99'"):
        check_place("DE", "ZZ99")


def test_listing_and_candidate_filters_share_the_checks() -> None:
    flt = organisation_filter(OrganisationFilter(country="uk", region="", name_contains="x"))
    assert flt == OrganisationFilter(country="GB", region=None, name_contains="x")
    assert partnership_filter(PartnershipFilter(region="")) == PartnershipFilter()
    with pytest.raises(InvalidInputError, match="unknown NUTS code"):
        partnership_filter(PartnershipFilter(region="ZZ99"))
    assert build_filters(["uk", "de"], None, None, False, None).countries == ("GB", "DE")
    with pytest.raises(InvalidInputError, match=r"^country: "):
        build_filters(["QQ"], None, None, False, None)
