"""How a candidate search is restricted: the filters every candidate source understands."""

from __future__ import annotations

from dataclasses import dataclass

from domain.models import Ecosystem, StakeholderType


@dataclass(frozen=True)
class CandidateFilters:
    """Restrictions on who may be recommended (all must hold)."""

    countries: tuple[str, ...] = ()  # ISO alpha-2
    regions: tuple[str, ...] = ()  # NUTS codes, any level: the candidate lies inside one of them
    stakeholder_types: tuple[StakeholderType, ...] = ()
    sme_only: bool = False
    ecosystems: tuple[Ecosystem, ...] = ()
    exclude_org_ids: tuple[str, ...] = ()
    org_ids: tuple[str, ...] = ()  # only these organisations (empty: no restriction)
