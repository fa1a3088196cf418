"""Target mix: the shipped defaults, overrides, validation with field names, and the share arithmetic."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidInputError
from domain.models import PartnershipKind, StakeholderType
from matching.target_mix import (
    Requirement,
    TargetMix,
    default_target_mix,
    effective_target_mix,
    parse_target_mix,
)


def test_defaults_follow_the_handbook() -> None:
    mix = default_target_mix()
    regional = {r.id: set(r.types) for r in mix.for_partnership("x", PartnershipKind.REGIONAL).requirements}
    assert regional["regional_authority"] == {StakeholderType.REGIONAL_LOCAL_AUTHORITY}
    assert regional["vet"] == {StakeholderType.VET_PROVIDER}
    assert regional["higher_education"] == {StakeholderType.HIGHER_EDUCATION}
    assert regional["large_employers"] == {StakeholderType.LARGE_EMPLOYER}
    assert regional["smes"] == {StakeholderType.SME}
    assert regional["trade_unions"] == {StakeholderType.TRADE_UNION}
    # "chambers of commerce or other economic representative groups" is one group of two types
    assert regional["economic_representatives"] == {
        StakeholderType.CHAMBER_BUSINESS_ASSOCIATION,
        StakeholderType.EMPLOYERS_ORGANISATION,
    }
    large = {r.id: set(r.types) for r in mix.for_partnership("x", PartnershipKind.LARGE_SCALE).requirements}
    assert StakeholderType.EMPLOYERS_ORGANISATION in large["representative_organisations"]
    assert StakeholderType.NATIONAL_PUBLIC_BODY in large["public_authorities"]
    assert mix.for_partnership("x", PartnershipKind.REGIONAL).origin == "kind regional (default)"


def test_override_replaces_only_what_it_names() -> None:
    override = parse_target_mix(
        {
            "kinds": {
                "regional": {"requirements": [{"id": "vet", "label": "VET", "types": ["vet_provider"]}]}
            },
            "partnerships": {
                "P9": {"requirements": [{"id": "smes", "label": "SMEs", "types": ["sme"], "min_count": 3}]}
            },
        }
    )
    mix = effective_target_mix(override)
    regional = mix.for_partnership("P1", PartnershipKind.REGIONAL)
    assert [r.id for r in regional.requirements] == ["vet"]
    assert regional.origin == "kind regional (override)"
    large = mix.for_partnership("P1", PartnershipKind.LARGE_SCALE)
    assert (
        large.requirements
        == default_target_mix().for_partnership("P1", PartnershipKind.LARGE_SCALE).requirements
    )
    p9 = mix.for_partnership("P9", PartnershipKind.REGIONAL)
    assert [(r.id, r.min_count) for r in p9.requirements] == [("smes", 3)]
    assert p9.origin == "partnership P9 (override)"


def test_round_trip_through_json() -> None:
    mix = default_target_mix()
    again = parse_target_mix(mix.model_dump_json())
    assert again.kinds == mix.kinds


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"kinds": {"regional": {"requirements": [{"id": "v", "label": "V", "types": ["vet"]}]}}}, "kinds.regional.requirements[0].types[0]"),
        ({"kinds": {"regionl": {}}}, "kinds.regionl.[key]"),
        ({"kinds": {"regional": {"requirements": [{"id": "v", "label": "V", "types": []}]}}}, "kinds.regional.requirements[0].types"),
        ({"kinds": {"regional": {"requirements": [{"id": "v", "label": "V", "types": ["sme"], "min_share": 1.0}]}}}, "kinds.regional.requirements[0].min_share"),
        ({"kinds": {"regional": {"requirements": [{"id": "v", "label": "V", "types": ["sme"], "min_count": 0}]}}}, "kinds.regional.requirements[0]"),
        ({"kinds": {"regional": {"requirements": [{"id": "v", "label": "V", "types": ["sme"]}, {"id": "v", "label": "W", "types": ["sme"]}]}}}, "kinds.regional.requirements"),
        ({"colour": "blue"}, "colour"),
    ],
)  # fmt: skip
def test_bad_documents_name_the_field(document: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_target_mix(document, "mix.json")
    assert field in [i.field for i in info.value.issues]
    assert "mix.json" in str(info.value)


def test_not_json_is_a_clear_error() -> None:
    with pytest.raises(InvalidInputError, match="not valid JSON"):
        parse_target_mix(b"{nope", "mix.json")
    with pytest.raises(InvalidInputError, match="expected an object"):
        parse_target_mix([1, 2])


def test_needed_is_hand_computed() -> None:
    r = Requirement(id="x", label="x", types=(StakeholderType.SME,), min_count=2, min_share=0.5)
    # 1 of 4 members: count needs +1, share needs k ≥ (0.5·4 − 1)/(1 − 0.5) = 2; (1+2)/(4+2) = 0.5
    assert r.needed(1, 4) == 2
    assert not r.satisfied(1, 4)
    assert r.satisfied(3, 6)
    assert r.needed(3, 6) == 0


@given(
    count=st.integers(0, 50),
    others=st.integers(0, 50),
    min_count=st.integers(0, 10),
    min_share=st.floats(0.0, 0.9, allow_nan=False),
)
def test_needed_is_the_least_number_of_newcomers(
    count: int, others: int, min_count: int, min_share: float
) -> None:
    if min_count == 0 and min_share == 0.0:
        return
    r = Requirement(id="x", label="x", types=(StakeholderType.SME,), min_count=min_count, min_share=min_share)
    n = count + others
    k = r.needed(count, n)
    assert r.satisfied(count + k, n + k)
    if k > 0:
        assert not r.satisfied(count + k - 1, n + k - 1)


_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)


@given(
    st.dictionaries(
        st.sampled_from(["kinds", "partnerships", "version", "source", "other"]),
        _values | st.dictionaries(st.sampled_from(["regional", "large_scale", "x"]), _values, max_size=2),
        max_size=3,
    )
)
def test_any_document_parses_or_fails_cleanly(document: dict[str, object]) -> None:
    try:
        mix = parse_target_mix(document)
    except InvalidInputError as exc:
        assert exc.issues, "every rejection names at least one field"
        assert all(i.field for i in exc.issues)
    else:
        assert isinstance(mix, TargetMix)
        parse_target_mix(json.loads(mix.model_dump_json()))
