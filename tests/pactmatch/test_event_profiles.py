"""Offers and wants read from an organisation's profile (registration from the store)."""

from __future__ import annotations

from collections import Counter
from datetime import date

from domain.models import Partnership, StakeholderType
from pactmatch.event_profiles import partnership_title, profile_wishes
from tests.conftest import org, partnership


def test_profile_wishes_from_a_cordis_like_record() -> None:
    o = org("u", stakeholder_type="higher_education")
    projects = [
        partnership(
            "p1", description="Battery recycling pilot lines\n\nobjective", start_date=date(2018, 1, 1)
        ),
        partnership("p2", description="Welding apprenticeships", start_date=date(2019, 5, 1)),
        partnership("p3", name="ACRO"),  # no title: names no topic
    ]
    types = Counter({StakeholderType.SME: 3, StakeholderType.OTHER: 9, StakeholderType.VET_PROVIDER: 1})
    wishes = profile_wishes(o, projects, types)
    assert (
        wishes.offer == "higher education institution. Welding apprenticeships; Battery recycling pilot lines"
    )
    assert wishes.want == "Welding apprenticeships; Battery recycling pilot lines"
    assert [t.value for t in wishes.wanted_types] == ["sme", "vet_provider"]
    assert partnership_title(Partnership(partnership_id="9", name="Project 9")) is None
