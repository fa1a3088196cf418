"""Store-aware glue for the rankers: fit the learned ranker on a store, save it, pick one at start-up.

The learned ranker is saved with the store as ``ranker.json`` (plain JSON numbers, never pickle).
:func:`default_ranker` is the service's ``ranker_factory``: it serves the learned ranker when that
artifact exists and was fitted with the snapshot's encoder (its text features are cosine values
of that encoder; another encoder's cosines would mean something else), and the heuristic scorer
otherwise.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from domain.candidates import CandidateFilters
from domain.errors import InvalidInputError
from domain.models import Membership, Partnership
from embeddings import EmbeddingCache, Encoder, embed_texts
from graph.base import GraphStore
from matching.diversity import OVERFETCH, DiversityOptions, diversify_recommendations
from matching.evaluation.data import Progress
from matching.evaluation.harness import fit_learned_ranker
from matching.evaluation.split import MIN_MEMBERS
from matching.learned import Estimator, LearnedRecommender
from matching.recommender import HeuristicRecommender
from matching.snapshot import Snapshot

if TYPE_CHECKING:  # the service imports this module for its default ranker factory
    from pactmatch.service import CandidateList, PactmatchService, Ranker

RANKER_ARTIFACT = "ranker.json"
#: The most recent share of dated 4+-member partnerships that become training examples.
EXAMPLE_SHARE = 0.25
MIN_EXAMPLES = 20

log = logging.getLogger(__name__)


def load_learned(store: GraphStore) -> LearnedRecommender | None:
    """The stored learned ranker, or None when there is none (a corrupt one is an error)."""
    raw = store.get_artifact(RANKER_ARTIFACT)
    return None if raw is None else parse_learned(raw)


def parse_learned(raw: bytes) -> LearnedRecommender:
    """A learned ranker from its stored JSON bytes; ``InvalidInputError`` for anything else."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"stored {RANKER_ARTIFACT} is not valid JSON: {exc}") from exc
    return LearnedRecommender.from_dict(data)


def usable_learned(raw: bytes | None, encoder_model: str) -> LearnedRecommender | None:
    """The stored learned ranker if there is one, it parses, and it was fitted with ``encoder_model``.

    The one place that decides whether the learned ranker is served: a corrupt artifact or one
    fitted with another encoder (whose cosines mean something else) falls back to the heuristic.
    """
    if raw is None:
        return None
    try:
        learned = parse_learned(raw)
    except InvalidInputError as exc:
        log.warning("ignoring the stored ranker: %s; serving the heuristic ranker", exc)
        return None
    fitted_with = learned.meta_.get("encoder_model")
    if fitted_with != encoder_model:
        log.info(
            "stored ranker was fitted with encoder %r, not %r: heuristic ranker", fitted_with, encoder_model
        )
        return None
    return learned


def default_ranker(snapshot: Snapshot, store: GraphStore) -> Ranker:
    """The learned ranker when one fitted with this snapshot's encoder is stored, else the heuristic."""
    learned = usable_learned(store.get_artifact(RANKER_ARTIFACT), snapshot.model)
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
    payload = ranker.to_dict(fitted_on="store")
    store.put_artifact(RANKER_ARTIFACT, json.dumps(payload, indent=1).encode("utf-8"))
    report = ranker.training_
    return FitSummary(
        fit_cut, report.cases, report.rows, report.positives, report.pool_recall, ranker.weights, encoder.name
    )


def diversified_candidates(
    service: PactmatchService,
    partnership_id: str,
    top_k: int,
    filters: CandidateFilters | None,
    options: DiversityOptions | None,
) -> CandidateList:
    """:meth:`PactmatchService.candidates`, re-ranked for diversity when ``options`` ask for it.

    The ranker is asked for :data:`~matching.diversity.OVERFETCH` times as many candidates, and MMR
    and the quotas pick ``top_k`` of them; scores and explanations are the ranker's, and the list's
    ``model`` names the re-ranking (``learned-lgbm-v2 + mmr=0.3``).
    """
    from pactmatch.service import CandidateList

    if options is None or not options.active:
        return service.candidates(partnership_id, top_k=top_k, filters=filters)
    wide = service.candidates(partnership_id, top_k=top_k * OVERFETCH, filters=filters)
    chosen = diversify_recommendations(
        service.snapshot(), [i.recommendation for i in wide.items], top_k, options
    )
    by_id = {i.org_id: i for i in wide.items}
    return CandidateList(
        partnership_id, f"{wide.model} + {options.label()}", [by_id[r.org_id] for r in chosen]
    )
