"""Which ranker serves, and fitting the learned one on a store.

:func:`default_ranker` is the service's ``ranker_factory``: it serves the learned ranker when one
is stored (:class:`~pactmatch.ranker_repository.RankerRepository`) and was fitted with the
snapshot's encoder (its text features are cosine values of that encoder; another encoder's
cosines would mean something else), and the heuristic scorer otherwise.
:func:`fit_store_ranker` fits it on the store's own partnerships and saves it there.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

import numpy as np
import numpy.typing as npt

from domain.candidates import CandidateFilters
from domain.errors import InvalidInputError
from domain.models import Membership, Partnership
from embeddings import EmbeddingCache, Encoder, embed_texts
from graph.base import GraphStore
from matching.evaluation.data import Progress
from matching.evaluation.harness import fit_learned_ranker
from matching.evaluation.split import MIN_MEMBERS
from matching.learned import LearnedRecommender
from matching.ranking_models import Estimator
from matching.recommender import HeuristicRecommender
from matching.snapshot import Snapshot
from matching.types import PartnershipQuery, Recommendation
from pactmatch.ranker_repository import RankerRepository

#: The most recent share of dated 4+-member partnerships that become training examples.
EXAMPLE_SHARE = 0.25
MIN_EXAMPLES = 20


class Ranker(Protocol):
    """What the service needs from a fitted recommender (heuristic or learned)."""

    @property
    def name(self) -> str: ...

    def recommend(
        self, query: PartnershipQuery, top_k: int = 10, filters: CandidateFilters | None = None
    ) -> list[Recommendation]: ...


#: How the service gets its ranker for a snapshot: the configured choice between rankers.
RankerFactory = Callable[[Snapshot, GraphStore], Ranker]


def heuristic_ranker(snapshot: Snapshot, store: GraphStore) -> Ranker:
    """Always the heuristic scorer (tests, benchmarks, and stores without a fitted ranker)."""
    return HeuristicRecommender().fit(snapshot)


def default_ranker(snapshot: Snapshot, store: GraphStore) -> Ranker:
    """The learned ranker when one fitted with this snapshot's encoder is stored, else the heuristic."""
    learned = RankerRepository(store).usable(snapshot.model)
    return learned.bind(snapshot) if learned is not None else HeuristicRecommender().fit(snapshot)


@dataclass(frozen=True)
class FitSummary:
    fit_cut: date
    examples: int
    rows: int
    positives: int
    pool_recall: float
    weights: dict[str, float]
    encoder_model: str

    @property
    def weights_list(self) -> list[float]:
        return list(self.weights.values())


def choose_fit_cut(partnerships: Sequence[Partnership], memberships: Sequence[Membership]) -> date:
    """The start date after which the most recent :data:`EXAMPLE_SHARE` of eligible partnerships lie.

    Eligible: dated, with at least :data:`~matching.evaluation.split.MIN_MEMBERS` members. Those
    after the cut become hide-and-rank examples; everything before it is the history they are
    ranked against.
    """
    sizes = Counter(m.partnership_id for m in memberships)
    dates = sorted(
        p.start_date for p in partnerships if p.start_date and sizes[p.partnership_id] >= MIN_MEMBERS
    )
    if len(dates) < MIN_EXAMPLES / EXAMPLE_SHARE:
        raise InvalidInputError(
            f"fitting needs at least {int(MIN_EXAMPLES / EXAMPLE_SHARE)} partnerships with a start date and "
            f"{MIN_MEMBERS}+ members (found {len(dates)}); the heuristic ranker stays in use"
        )
    cut = dates[int(len(dates) * (1 - EXAMPLE_SHARE))]
    if cut == dates[0]:
        raise InvalidInputError(
            "the partnerships' start dates are all the same: no earlier history to learn from"
        )
    return cut


def fit_store_ranker(
    store: GraphStore,
    encoder: Encoder,
    cache: EmbeddingCache | None = None,
    *,
    seed: int = 0,
    max_examples: int = 3000,
    estimator: Estimator = "lgbm",
    progress: Progress | None = None,
) -> FitSummary:
    """Fit the learned ranker on the store's partnerships and save it as ``ranker.json``.

    Examples are the most recent dated partnerships (hide half of the members, rank against the
    history before them); partnerships without a start date count as history. Organisation texts
    for the history are rebuilt from history partnerships only and embedded with ``encoder``
    through ``cache``, so no example's own title leaks into its hidden members' vectors.
    """
    orgs = list(store.iter_organisations())
    partnerships = [
        p if p.start_date else p.model_copy(update={"start_date": date.min})
        for p in store.iter_partnerships()
    ]
    memberships = list(store.iter_memberships())
    fit_cut = choose_fit_cut(partnerships, memberships)

    def embed(texts: Sequence[str]) -> npt.NDArray[np.float32]:
        done = 0

        def step(n: int) -> None:
            nonlocal done
            done += n
            if progress:
                progress("embed texts", done, len(texts))

        return embed_texts(encoder, texts, cache, on_progress=step)[0]

    ranker = fit_learned_ranker(
        orgs, partnerships, memberships, fit_cut=fit_cut, end=None, embed=embed, model=encoder.name,
        seed=seed, max_cases=max_examples, ranker=LearnedRecommender(estimator=estimator, seed=seed),
        progress=progress,
    )  # fmt: skip
    RankerRepository(store).save(ranker)
    report = ranker.training_
    return FitSummary(
        fit_cut, report.cases, report.rows, report.positives, report.pool_recall, ranker.weights, encoder.name
    )
