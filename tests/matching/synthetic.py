"""Synthetic consortia and the learned rankers fitted on them, built once per test session.

The learned ranker's own tests and the recommender conformance suite share them: fitting is the
slow part, and both want the same data (repeat partners, national clusters, a temporal split).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import cache

import numpy as np
import numpy.typing as npt

from domain.models import Ecosystem
from domain.regions import RegionIndex, nuts_country
from embeddings import make_encoder
from matching.evaluation.data import history_snapshot
from matching.evaluation.harness import fit_learned_ranker
from matching.evaluation.split import TemporalSplit, temporal_split
from matching.evaluation.synthetic import SyntheticConsortia, synthetic_consortia
from matching.learned import Estimator, LearnedRecommender
from matching.snapshot import Snapshot

ENCODER = make_encoder("hashing")
#: The rankers learn from partnerships starting in [FIT_CUT, TEST_CUT) and are tested on later ones.
FIT_CUT = date(2017, 1, 1)
TEST_CUT = date(2018, 1, 1)


def with_regions_and_ecosystems(data: SyntheticConsortia) -> SyntheticConsortia:
    """Every second organisation in a NUTS-1 region of its country, every third in an ecosystem,
    every seventh of unknown SME status: the generator sets none of these, and the filters and
    evidence that read them need something to find."""
    index = RegionIndex.default()
    ecosystems = list(Ecosystem)
    orgs = []
    for n, org in enumerate(data.organisations):
        update: dict[str, object] = {}
        if n % 2 == 0 and org.country:
            regions = index.children(nuts_country(org.country))
            update["nuts_codes"] = (regions[n % len(regions)].code,)
        if n % 3 == 0:
            update["ecosystems"] = (ecosystems[n % len(ecosystems)],)
        if n % 7 == 0:
            update["sme"] = None
        orgs.append(org.model_copy(update=update))
    return SyntheticConsortia(orgs, data.partnerships, data.memberships)


DATA = with_regions_and_ecosystems(synthetic_consortia(300, 420, seed=3))


def embed(texts: Iterable[str]) -> npt.NDArray[np.float32]:
    return ENCODER.encode(list(texts))


@cache
def fitted_learned(estimator: Estimator) -> LearnedRecommender:
    """The learned ranker with ``estimator``, fitted on [FIT_CUT, TEST_CUT) and bound to its history."""
    return fit_learned_ranker(
        DATA.organisations, DATA.partnerships, DATA.memberships, fit_cut=FIT_CUT, end=TEST_CUT,
        embed=embed, model=ENCODER.name, ranker=LearnedRecommender(estimator=estimator),
    )  # fmt: skip


@cache
def ranking_history() -> tuple[TemporalSplit, Snapshot]:
    """The test cases (partnerships from TEST_CUT on) and the history snapshot they are ranked on."""
    split = temporal_split(DATA.partnerships, DATA.memberships, TEST_CUT)
    snapshot = history_snapshot(
        DATA.organisations, DATA.partnerships, DATA.memberships, split, embed, model=ENCODER.name
    )
    return split, snapshot
