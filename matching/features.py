"""Per-candidate signals for a partnership, computed for every organisation at once.

Each function returns one float array over all organisations of the snapshot (vectorised: a
query at 40k organisations costs a few milliseconds) plus what is needed to explain a value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse

from domain.candidates import CandidateFilters
from domain.regions import ancestors, nuts_country
from matching.blas import single_threaded_blas
from matching.candidates import REGION_TIERS as REGION_TIERS  # re-exported: callers import it from here
from matching.candidates import region_levels, region_tier, type_values
from matching.snapshot import NO_REGION, TYPE_ORDER, Snapshot, ecosystem_mask
from matching.types import PartnershipQuery


@dataclass(frozen=True)
class SemanticSignal:
    values: npt.NDArray[np.float64]
    source: str  # "partnership text" | "members' profiles" | "none"


def semantic(snapshot: Snapshot, query: PartnershipQuery) -> SemanticSignal:
    """Cosine similarity of each organisation to the partnership text, clipped to [0, 1].

    Falls back to the centroid of the members' embeddings when the partnership has no text vector
    (half of the CORDIS projects have no title).
    """
    found = _query_reference(snapshot, query)
    reference, source = found if found is not None else (None, "none")
    if reference is None or snapshot.org_vectors.shape[1] != reference.shape[0]:
        return SemanticSignal(np.zeros(snapshot.n_orgs), "none")
    with single_threaded_blas():  # one query's product: see matching.blas
        sims = snapshot.org_vectors @ reference
    return SemanticSignal(np.clip(sims.astype(np.float64), 0.0, 1.0), source)


def semantic_batch(snapshot: Snapshot, queries: Sequence[PartnershipQuery]) -> list[SemanticSignal]:
    """:func:`semantic` for several queries with one matrix product.

    One query reads the whole organisation matrix for a single dot product per row (memory-bound,
    ~15 ms at 35k × 512); stacking the queries' reference vectors turns the reads into one BLAS
    matrix product, which is what makes batch runs over every partnership affordable.
    """
    refs: list[npt.NDArray[np.float32] | None] = []
    sources: list[str] = []
    dim = snapshot.org_vectors.shape[1]
    for query in queries:
        single = _query_reference(snapshot, query)
        if single is None or single[0].shape[0] != dim:
            refs.append(None)
            sources.append("none")
        else:
            refs.append(single[0])
            sources.append(single[1])
    rows = [i for i, r in enumerate(refs) if r is not None]
    out = [SemanticSignal(np.zeros(snapshot.n_orgs), "none") for _ in queries]
    if rows:
        stacked = np.stack([refs[i] for i in rows]).astype(np.float32)  # type: ignore[misc]
        sims = np.clip((stacked @ snapshot.org_vectors.T).astype(np.float64), 0.0, 1.0)
        for n, i in enumerate(rows):
            out[i] = SemanticSignal(sims[n], sources[i])
    return out


def reference_vector(
    own: npt.NDArray[np.float32] | None, member_vectors: npt.NDArray[np.float32] | None
) -> tuple[npt.NDArray[np.float32], str] | None:
    """The vector candidates' texts are compared with: the partnership's own text embedding, else the
    normalised centroid of its members' embeddings (``member_vectors``, one row each)."""
    if own is not None and np.any(own):
        return own, "partnership text"
    if member_vectors is not None and len(member_vectors):
        centroid = member_vectors.mean(axis=0)
        norm = float(np.linalg.norm(centroid))
        if norm > 0:
            return (centroid / norm).astype(np.float32), "members' profiles"
    return None


def _query_reference(
    snapshot: Snapshot, query: PartnershipQuery
) -> tuple[npt.NDArray[np.float32], str] | None:
    members = query.member_indices[snapshot.org_has_vector[query.member_indices]]
    return reference_vector(query.vector, snapshot.org_vectors[members])


@dataclass(frozen=True)
class RegionSignal:
    values: npt.NDArray[np.float64]
    level: npt.NDArray[np.int8]  # deepest shared level (-1 none), 3 also when inside a reference
    references: tuple[str, ...]
    source: str  # "scope" | "members" | "none"


def reference_regions(snapshot: Snapshot, query: PartnershipQuery) -> tuple[tuple[str, ...], str]:
    """The partnership's declared scope, else the regions its members are in."""
    if query.scope_regions:
        return query.scope_regions, "scope"
    codes: list[str] = []
    for i in query.member_indices:
        row = snapshot.org_regions[i]
        deepest = next((int(row[lv]) for lv in (3, 2, 1, 0) if row[lv] != NO_REGION), NO_REGION)
        if deepest != NO_REGION:
            codes.append(snapshot.regions.codes[deepest])
    return tuple(sorted(set(codes))), ("members" if codes else "none")


def regional_fit(snapshot: Snapshot, query: PartnershipQuery) -> RegionSignal:
    """How close each organisation is to the partnership's regions, via the NUTS hierarchy."""
    refs, source = reference_regions(snapshot, query)
    level = region_levels(snapshot.org_regions, snapshot.regions, refs)
    return RegionSignal(region_tier(level), level, refs, source)


@dataclass(frozen=True)
class TypeSignal:
    values: npt.NDArray[np.float64]
    member_counts: npt.NDArray[np.int64]  # members per stakeholder type (TYPE_ORDER)
    n_members: int


def type_complementarity(snapshot: Snapshot, query: PartnershipQuery) -> TypeSignal:
    """1 − (share of the candidate's stakeholder type among the members): missing types score 1."""
    counts = np.bincount(snapshot.org_types[query.member_indices], minlength=len(TYPE_ORDER)).astype(np.int64)
    return TypeSignal(type_values(snapshot.org_types, counts), counts, len(query.member_indices))


@dataclass(frozen=True)
class ProximitySignal:
    raw: npt.NDArray[np.float64]  # Adamic–Adar index to the partnership
    values: npt.NDArray[np.float64]  # squashed to [0, 1): raw / (1 + raw)
    links: sparse.csr_matrix  # (orgs × members): shared partnerships with each member
    members: npt.NDArray[np.int64]  # org index of each column of ``links``


def graph_proximity(snapshot: Snapshot, query: PartnershipQuery) -> ProximitySignal:
    r"""Adamic–Adar index between each organisation and the partnership, over co-membership.

    The partnership is treated as a node whose neighbours are its members ``S``; an organisation
    ``c`` is linked to a member ``z`` when they share another partnership. Then

    .. math:: AA(c, P) = \sum_{z \in N(c) \cap S} \frac{1}{\log \max(2, |N(z)|)}

    where ``|N(z)|`` is ``z``'s number of distinct co-members (well-connected members say less about
    any one candidate). networkx's ``adamic_adar_index`` computes the same formula pair by pair in
    Python; here one sparse product covers all candidates (tests check the two agree).
    """
    members = query.member_indices
    m = snapshot.membership
    # The partnership's own column only links members to members; candidates are non-members,
    # so it never adds to a candidate's value and needs no masking here.
    member_rows = m[members]  # (|S| × partnerships)
    links = (m @ member_rows.T).tocsr()  # (orgs × |S|): shared partnerships
    weights = 1.0 / np.log(np.maximum(2.0, snapshot.org_degree[members])) if len(members) else np.zeros(0)
    binary = links.copy()
    binary.data[:] = 1.0
    raw = np.asarray(binary @ weights).ravel() if len(members) else np.zeros(snapshot.n_orgs)
    return ProximitySignal(raw=raw, values=raw / (1.0 + raw), links=links, members=members)


def candidate_mask(
    snapshot: Snapshot, query: PartnershipQuery, filters: CandidateFilters
) -> npt.NDArray[np.bool_]:
    """Organisations that may be recommended: not members, not excluded, passing every filter."""
    mask = np.ones(snapshot.n_orgs, dtype=bool)
    mask[query.member_indices] = False
    if len(query.extra_exclude):
        mask[np.asarray(query.extra_exclude, dtype=np.int64)] = False
    if filters.org_ids:
        # Only the listed organisations (e.g. another partnership's members being recruited).
        listed = [snapshot.org_index[o] for o in filters.org_ids if o in snapshot.org_index]
        only = np.zeros(snapshot.n_orgs, dtype=bool)
        only[np.asarray(listed, dtype=np.int64)] = True
        mask &= only
    for org_id in filters.exclude_org_ids:
        idx = snapshot.org_index.get(org_id)
        if idx is not None:
            mask[idx] = False
    if filters.countries:
        # A country no organisation is in has no id: it must match nobody, not the rows without a country.
        ids = [i for c in filters.countries if (i := snapshot.regions.lookup(nuts_country(c))) != NO_REGION]
        mask &= np.isin(snapshot.org_regions[:, 0], ids)
    if filters.regions:
        inside = np.zeros(snapshot.n_orgs, dtype=bool)
        for code in filters.regions:
            lv = min(len(code) - 2, 3)
            region_id = snapshot.regions.lookup(code)
            if region_id != NO_REGION:  # unknown to the snapshot: nobody's primary code is inside it
                inside |= snapshot.org_regions[:, lv] == region_id
        # Organisations with several codes lie inside when any of their codes does.
        for i in snapshot.multi_region_orgs:
            if not inside[i] and any(
                a in filters.regions for c in snapshot.org_all_regions[i] for a in ancestors(c)
            ):
                inside[i] = True
        mask &= inside
    if filters.stakeholder_types:
        mask &= np.isin(snapshot.org_types, [TYPE_ORDER.index(t) for t in filters.stakeholder_types])
    if filters.sme_only:
        mask &= snapshot.org_sme == 1
    if filters.ecosystems:
        mask &= (snapshot.org_ecosystems & np.uint32(ecosystem_mask(filters.ecosystems))) != 0
    return mask


def log1p_popularity(snapshot: Snapshot) -> npt.NDArray[np.float64]:
    """log(1 + number of partnerships), a prior used by baselines and the learned ranker."""
    return np.log1p(snapshot.org_popularity)
