"""What a store hands to the algorithms: plain rows, read in one consistent version.

A store never builds the algorithms' arrays itself (it returns data; ``matching`` scores it):
:meth:`graph.base.GraphStore.read_graph` returns a :class:`GraphData`, and
:meth:`matching.snapshot.Snapshot.from_data` turns it into the numpy/scipy snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt

from domain.models import Ecosystem, Organisation, Partnership, PartnershipKind, StakeholderType


@dataclass(frozen=True)
class OrgRow:
    """The columns of an organisation that the algorithms read."""

    org_id: str
    name: str
    stakeholder_type: StakeholderType
    sme: bool | None
    country: str | None
    nuts_codes: tuple[str, ...]
    ecosystems: tuple[Ecosystem, ...]

    @classmethod
    def of(cls, o: Organisation) -> OrgRow:
        return cls(o.org_id, o.name, o.stakeholder_type, o.sme, o.country, o.nuts_codes, o.ecosystems)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OrgRow:
        """From an organisation's stored JSON, without validating it again: it was validated on
        write, and a full model per row is most of what reading a large store would cost."""
        return cls(
            org_id=str(data["org_id"]),
            name=str(data["name"]),
            stakeholder_type=StakeholderType(data["stakeholder_type"]),
            sme=data["sme"] if isinstance(data["sme"], bool) else None,
            country=str(data["country"]) if data.get("country") else None,
            nuts_codes=tuple(data.get("nuts_codes") or ()),
            ecosystems=tuple(Ecosystem(e) for e in data.get("ecosystems") or ()),
        )


@dataclass(frozen=True)
class PartnershipRow:
    partnership_id: str
    name: str
    kind: PartnershipKind
    scope_regions: tuple[str, ...]
    ecosystems: tuple[Ecosystem, ...]
    parent_id: str | None
    start_date: date | None

    @classmethod
    def of(cls, p: Partnership) -> PartnershipRow:
        return cls(p.partnership_id, p.name, p.kind, p.scope_regions, p.ecosystems, p.parent_id, p.start_date)


@dataclass(frozen=True)
class MembershipRow:
    org_id: str
    partnership_id: str
    coordinator: bool


@dataclass(frozen=True)
class GraphData:
    """Every organisation, partnership and membership, with the embeddings of ``model``.

    ``version`` is the store version the rows were read at (the service's cache key).
    """

    organisations: Sequence[OrgRow]
    partnerships: Sequence[PartnershipRow]
    memberships: Sequence[MembershipRow]
    org_vectors: Mapping[str, npt.NDArray[np.float32]] = field(default_factory=dict)
    partnership_vectors: Mapping[str, npt.NDArray[np.float32]] = field(default_factory=dict)
    model: str = ""
    version: int = 0


@dataclass(frozen=True)
class GraphChanges:
    """What the writes after version ``since`` touched, as those items are now.

    ``org_ids`` and ``partnership_ids`` name every organisation and partnership a write touched
    (created, changed, deleted, re-embedded, or one whose memberships changed). ``data`` holds, read
    in one consistent version (``data.version``), the rows of those still there, every membership
    of each touched organisation and partnership, and their vectors of ``data.model``; a touched id
    without a row was deleted. Applying this to the snapshot of ``since`` gives the snapshot of
    ``data.version`` (:meth:`matching.snapshot.Snapshot.with_changes`) at the cost of the items
    touched, where rebuilding it reads and arranges everything (seconds on CORDIS).
    """

    since: int
    org_ids: frozenset[str]
    partnership_ids: frozenset[str]
    data: GraphData
