"""Filters from user input (CLI options, API query parameters and bodies), validated once.

A country or a region typed by a user is checked here, whichever way it came in, so the API and
the CLI accept the same spellings (``el``, ``UK``, NUTS 2021 codes) and report the same errors.
"""

from __future__ import annotations

from dataclasses import replace

from domain.candidates import CandidateFilters
from domain.errors import FieldIssue, InvalidInputError
from domain.models import Ecosystem, PartnershipKind, StakeholderType
from domain.regions import check_region_filter, normalise_country
from graph.base import OrganisationFilter, PartnershipFilter
from matching.join import PartnershipFilters


def check_country_filter(value: str, field: str | None = None) -> str:
    """The ISO 3166-1 alpha-2 code of a country used as a filter; ``InvalidInputError`` otherwise.

    With ``field`` (a field of a request body) the error also names it as a field issue, so the API
    reports it under ``loc: ["body", field]`` as it does pydantic's own errors.
    """
    try:
        return normalise_country(value)
    except ValueError as exc:
        raise InvalidInputError(f"country: {exc}", [FieldIssue(field, str(exc))] if field else None) from exc


def check_place(
    country: str | None, region: str | None, *, country_field: str | None = None
) -> tuple[str | None, str | None]:
    """A country and a region (NUTS code, any level) used as filters, each checked when given;
    an empty string is no filter. The country is checked first, so its error wins."""
    iso = check_country_filter(country, country_field) if country else None
    return iso, check_region_filter(region) if region else None


def organisation_filter(flt: OrganisationFilter) -> OrganisationFilter:
    """``flt`` with its country normalised and its region checked (what organisation listings accept)."""
    country, region = check_place(flt.country, flt.region)
    return replace(flt, country=country, region=region)


def partnership_filter(flt: PartnershipFilter) -> PartnershipFilter:
    """``flt`` with its region checked."""
    return replace(flt, region=check_region_filter(flt.region) if flt.region else None)


def build_filters(
    country: list[str] | None,
    region: list[str] | None,
    stakeholder_type: list[StakeholderType] | None,
    sme: bool,
    ecosystem: list[Ecosystem] | None,
) -> CandidateFilters:
    """Validated candidate filters (unknown countries/regions → InvalidInputError naming them); an
    empty string is no filter, as in :func:`check_place`."""
    return CandidateFilters(
        countries=tuple(check_country_filter(c) for c in country or [] if c),
        regions=tuple(check_region_filter(r) for r in region or [] if r),
        stakeholder_types=tuple(stakeholder_type or ()),
        sme_only=sme,
        ecosystems=tuple(ecosystem or ()),
    )


def join_filters(
    kind: list[PartnershipKind] | None,
    ecosystem: list[Ecosystem] | None,
    region: list[str] | None,
    country: list[str] | None,
) -> PartnershipFilters:
    """Validated filters of the partnerships an organisation could join (same spellings and errors
    as the candidate filters; an empty string is no filter)."""
    return PartnershipFilters(
        kinds=tuple(kind or ()),
        ecosystems=tuple(ecosystem or ()),
        regions=tuple(check_region_filter(r) for r in region or [] if r),
        countries=tuple(check_country_filter(c) for c in country or [] if c),
    )
