"""Input models at the edge: types and bounds for every string and list."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from domain.events import AttendeeCreate, AttendeePatch
from domain.models import Organisation, Partnership


def org(**kw: Any) -> Organisation:
    return Organisation.model_validate({"org_id": "o1", "name": "Org", "stakeholder_type": "sme", **kw})


def refused_field(exc: pytest.ExceptionInfo[ValidationError]) -> tuple[str | int, ...]:
    return exc.value.errors()[0]["loc"]


@pytest.mark.parametrize("country", [{}, 1, True, ["DE"], 2.5])
def test_a_country_that_is_not_a_string_is_refused_not_crashed_on(country: object) -> None:
    with pytest.raises(ValidationError) as exc:
        org(country=country)
    assert refused_field(exc) == ("country",) and exc.value.errors()[0]["type"] == "string_type"


def test_countries_are_still_normalised() -> None:
    assert org(country=" el ").country == "GR" and org(country="").country is None


@pytest.mark.parametrize(
    ("field", "value", "loc"),
    [
        ("keywords", ["x" * 100_000], ("keywords", 0)),
        ("keywords", ["k"] * 201, ("keywords",)),
        ("description", "x" * 20_001, ("description",)),
        ("nuts_codes", ["DE1"] * 51, ("nuts_codes",)),
        ("nuts_codes", ["D" * 100], ("nuts_codes", 0)),
        ("ecosystems", ["digital"] * 101, ("ecosystems",)),
        ("country", "x" * 65, ("country",)),
    ],
)
def test_every_organisation_string_and_list_is_bounded(
    field: str, value: object, loc: tuple[object, ...]
) -> None:
    with pytest.raises(ValidationError) as exc:
        org(**{field: value})
    assert refused_field(exc) == loc


def test_partnership_lists_are_bounded() -> None:
    with pytest.raises(ValidationError) as exc:
        Partnership.model_validate({"partnership_id": "p", "name": "P", "ecosystems": ["digital"] * 101})
    assert refused_field(exc) == ("ecosystems",)


def test_a_nuts_code_with_a_newline_is_refused_though_strings_are_stripped() -> None:
    with pytest.raises(ValidationError) as exc:
        org(nuts_codes=["DE1\n"])
    assert refused_field(exc) == ("nuts_codes",) and "is not a NUTS code" in exc.value.errors()[0]["msg"]
    assert org(nuts_codes=[" DE11 "]).nuts_codes == ("DE11",)


def test_wanted_regions_null_is_a_type_error() -> None:
    with pytest.raises(ValidationError) as exc:
        AttendeeCreate.model_validate({"person": "P", "org_id": "o1", "wanted_regions": None})
    assert refused_field(exc) == ("wanted_regions",)
    assert AttendeeCreate.model_validate(
        {"person": "P", "org_id": "o1", "wanted_regions": "DE1, gr"}
    ).wanted_regions == (
        "DE1",
        "EL",
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("wanted_regions", ["DE1"] * 51),
        ("availability", ["s1"] * 97),
        ("must_meet", ["a"] * 201),
        ("no_thanks", ["a"] * 201),
        ("wanted_types", ["sme"] * 15),
    ],
)
def test_an_attendee_patch_has_the_bounds_of_a_registration(field: str, value: list[str]) -> None:
    with pytest.raises(ValidationError) as exc:
        AttendeePatch.model_validate({field: value})
    assert refused_field(exc) == (field,)
