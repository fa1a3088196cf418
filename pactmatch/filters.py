"""Candidate filters from user input (CLI options, API query parameters), validated once."""

from __future__ import annotations

from domain.candidates import CandidateFilters
from domain.errors import InvalidInputError
from domain.models import Ecosystem, StakeholderType
from domain.regions import check_region_filter, normalise_country


def build_filters(
    country: list[str] | None,
    region: list[str] | None,
    stakeholder_type: list[StakeholderType] | None,
    sme: bool,
    ecosystem: list[Ecosystem] | None,
) -> CandidateFilters:
    """Validated candidate filters (unknown countries/regions → InvalidInputError naming them)."""
    countries = []
    for c in country or []:
        try:
            countries.append(normalise_country(c))
        except ValueError as exc:
            raise InvalidInputError(f"country: {exc}") from exc
    return CandidateFilters(
        countries=tuple(countries),
        regions=tuple(check_region_filter(r) for r in region or []),
        stakeholder_types=tuple(stakeholder_type or ()),
        sme_only=sme,
        ecosystems=tuple(ecosystem or ()),
    )
