"""What a candidate search asks a store and what the store answers, in domain words.

:class:`CandidateFilters` restrict who may be proposed, on every candidate path. The other types
are the answers of the fixed reads a database store offers for candidate search
(:class:`graph.base.CandidateReads`): the partnership's context, and candidates as rows. Which
reads to make, and whether their union provably holds the top k, is decided in
:mod:`matching.candidate_search`; the store only answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

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


class CandidateRow(NamedTuple):
    """One organisation as a candidate read returns it (a store's answer, in domain words).

    A named tuple, not a dataclass: a widened pool reads thousands of rows per query, and a tuple
    is built several times faster.
    """

    org_id: str
    #: The store's key of the organisation within one read (Neo4j: its element id): what the
    #: co-membership neighbourhood is given in, and what :meth:`columns` reads by.
    key: str
    name: str
    stakeholder_type: StakeholderType
    #: The primary NUTS code's ancestors at levels 0..3 ("" below its level, or all "" without one).
    region_path: tuple[str, ...]
    #: Raw cosine of its embedding to the query vector (``None``: no embedding, or no vector asked).
    similarity: float | None
    #: Whether it passes the read's filters (reads by key and the vector index also return the
    #: ineligible, flagged, so a caller can tell "filtered out" from "not read").
    eligible: bool = True


class ContextMember(NamedTuple):
    """A current member of the partnership a candidate search is for."""

    org_id: str
    key: str
    name: str
    stakeholder_type: StakeholderType
    region_path: tuple[str, ...]
    #: Its embedding, sent only when the partnership has none (their centroid then stands in).
    vector: npt.NDArray[np.float32] | None


@dataclass(frozen=True)
class PartnershipContext:
    """What a candidate search knows of its partnership before reading any candidate."""

    partnership_id: str
    scope_regions: tuple[str, ...]
    #: The embedding of the partnership's own text, if it has one.
    vector: npt.NDArray[np.float32] | None
    #: Ordered by organisation id.
    members: tuple[ContextMember, ...]
