"""What an organisation of the store offers and looks for at an event, read from its profile.

Registering from the store (or leaving a field blank) fills an attendee's offer, want and wanted
partner types from here. Plain functions over domain models and the snapshot, kept apart from the
service so that the benchmark builds the same profiles without a store.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from domain.models import Organisation, Partnership, StakeholderType
from matching.snapshot import TYPE_ORDER, Snapshot

#: A partnership whose only name is its id says nothing about its topic.
_UNTITLED_PREFIX = "Project "


def partnership_title(p: Partnership) -> str | None:
    """A partnership's topic: its title (first line of the description), else a real name."""
    first = p.description.split("\n", 1)[0].strip()
    if first:
        return first[:200]
    if p.name.startswith(_UNTITLED_PREFIX) and p.partnership_id in p.name:
        return None
    return p.name if " " in p.name else None  # an acronym alone ("3Ccar") names no topic


@dataclass(frozen=True)
class ProfileWishes:
    offer: str
    want: str
    wanted_types: tuple[StakeholderType, ...]


def profile_wishes(
    org: Organisation, projects: Sequence[Partnership], partner_types: Counter[StakeholderType]
) -> ProfileWishes:
    """Offers and wants derived from an organisation's profile, for registration from the store.

    An organisation *offers* what its description and track record say (its stakeholder type and
    the topics of its partnerships, most recent first) and *looks for* partners on its most recent
    topics (or its stated keywords), from the stakeholder types it has worked with most. That is
    what a CORDIS participant is known by; an attendee can override every field.
    """
    ordered = sorted(
        projects, key=lambda p: (p.start_date is None, -(p.start_date.toordinal() if p.start_date else 0))
    )
    titles = [t for t in (partnership_title(p) for p in ordered) if t]
    titles = list(dict.fromkeys(titles))
    if org.description.strip():
        offer = org.description.strip()
        if org.keywords:
            offer += ". " + "; ".join(org.keywords)
        want = "; ".join(org.keywords) if org.keywords else "; ".join(titles[:5])
    else:
        offer = org.stakeholder_type.label
        if org.keywords:
            offer += ". " + "; ".join(org.keywords)
        if titles:
            offer += ". " + "; ".join(titles[:15])
        want = "; ".join(titles[:5]) or "; ".join(org.keywords)
    wanted = tuple(t for t, _ in partner_types.most_common() if t != StakeholderType.OTHER)[:3]
    return ProfileWishes(offer=offer[:5000], want=want[:5000], wanted_types=wanted)


def partner_type_counts(snapshot: Snapshot, org_id: str) -> Counter[StakeholderType]:
    """Stakeholder types of an organisation's past partners (co-members), counted once per partner."""
    i = snapshot.org_index.get(org_id)
    if i is None:
        return Counter()
    row = snapshot.membership[i]
    co = (row @ snapshot.membership.T).tocsr()
    partners = co.indices[(co.data > 0) & (co.indices != i)]
    counts = np.bincount(snapshot.org_types[partners], minlength=len(TYPE_ORDER))
    return Counter({TYPE_ORDER[k]: int(c) for k, c in enumerate(counts) if c})
