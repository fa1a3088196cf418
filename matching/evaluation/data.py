"""Snapshots for hide-and-rank runs, built from plain domain rows with nothing from the future.

The recommenders see memberships of history partnerships only; an organisation's text (its name,
type and the titles of its partnerships when it has no description) is built from those same
history partnerships, so a test project's title never leaks into a hidden member's vector. The
test project's own text may be used: its coordinator knows what the project is about.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from domain.graph_data import MembershipRow, OrgRow, PartnershipRow
from domain.models import Membership, Organisation, Partnership, Role, organisation_text, partnership_text
from matching.evaluation.split import TemporalSplit, TestCase
from matching.snapshot import Snapshot
from matching.types import PartnershipQuery

#: ``embed(texts) -> (len(texts), dim)`` L2-normalised float32 (the caller brings encoder and cache).
Embed = Callable[[Sequence[str]], npt.NDArray[np.float32]]
#: ``progress(phase, done, total)``
Progress = Callable[[str, int, int], None]


def partnership_title(p: Partnership) -> str:
    """How a partnership names an organisation's work (same rule as the service's embedding texts)."""
    first_line = p.description.split("\n", 1)[0].strip()
    return first_line[:200] if first_line else p.name


def has_own_text(p: Partnership) -> bool:
    """Whether a partnership says anything about itself beyond a generated placeholder name.

    CORDIS projects known only by record number are imported as ``Project <id>``; embedding that
    would give every such project the same meaningless vector, so they count as having no text and
    the recommenders fall back to the members' profiles.
    """
    return bool(p.description.strip()) or p.name != f"Project {p.partnership_id}"


def organisation_texts(
    orgs: Sequence[Organisation], partnerships: Sequence[Partnership], memberships: Sequence[Membership]
) -> list[str]:
    """Each organisation's text from the given (history) memberships only."""
    by_id = {p.partnership_id: p for p in partnerships}
    titles: dict[str, list[str]] = defaultdict(list)
    for m in memberships:
        p = by_id.get(m.partnership_id)
        if p is not None:
            titles[m.org_id].append(partnership_title(p))
    return [organisation_text(o, titles.get(o.org_id)) for o in orgs]


def history_snapshot(
    orgs: Sequence[Organisation],
    partnerships: Sequence[Partnership],
    memberships: Sequence[Membership],
    split: TemporalSplit,
    embed: Embed,
    *,
    model: str = "",
    progress: Progress | None = None,
) -> Snapshot:
    """The snapshot a hide-and-rank run scores on.

    Organisations: all of them (newcomers must be rankable). Partnerships: the history ones plus
    the test projects, the latter with *no* members (visible members reach a recommender through
    its query). Memberships: history only. Vectors: organisations from history texts, test
    projects from their own text where they have one.
    """
    history = [m for m in memberships if m.partnership_id in split.history]
    history_ps = [p for p in partnerships if p.partnership_id in split.history]
    case_ids = {c.partnership_id for c in split.cases}
    case_ps = [p for p in partnerships if p.partnership_id in case_ids]

    if progress:
        progress("embed organisations", 0, len(orgs))
    org_vecs = embed(organisation_texts(orgs, history_ps, history))
    if progress:
        progress("embed organisations", len(orgs), len(orgs))
    # Only the test projects' own texts (what their coordinators know) are compared with; the
    # rankers read organisations' texts, not those of earlier partnerships.
    texted = [p for p in case_ps if has_own_text(p)]
    if progress:
        progress("embed test projects", 0, len(texted))
    p_vecs = (
        embed([partnership_text(p) for p in texted])
        if texted
        else np.zeros((0, org_vecs.shape[1]), np.float32)
    )
    if progress:
        progress("embed test projects", len(texted), len(texted))

    return Snapshot.build(
        [OrgRow.of(o) for o in orgs],
        [PartnershipRow.of(p) for p in [*history_ps, *case_ps]],
        [MembershipRow(m.org_id, m.partnership_id, m.role == Role.COORDINATOR) for m in history],
        {o.org_id: org_vecs[i] for i, o in enumerate(orgs)},
        {p.partnership_id: p_vecs[i] for i, p in enumerate(texted)},
        dim=int(org_vecs.shape[1]),
        model=model,
    )


def case_query(snapshot: Snapshot, case: TestCase) -> PartnershipQuery:
    """The recommender's question for a test case: visible members and the project's text vector."""
    j = snapshot.partnership_index[case.partnership_id]
    index = snapshot.org_index
    return PartnershipQuery(
        member_indices=np.array(sorted(index[o] for o in case.visible), dtype=np.int64),
        vector=snapshot.partnership_vectors[j] if snapshot.partnership_has_vector[j] else None,
        scope_regions=snapshot.partnership_scope[j],
        exclude_partnership=j,
        label=case.partnership_id,
    )
