"""Fit the learned ranker on a store, save it with the store, reload it at start-up."""

from __future__ import annotations

import json

import pytest

from domain.errors import InvalidInputError
from embeddings import EmbeddingCache
from graph.embedded import EmbeddedStore
from matching.evaluation.synthetic import synthetic_consortia
from matching.learned import LearnedRecommender
from matching.recommender import HeuristicRecommender
from matching.snapshot import Snapshot
from pactmatch.importers.report import ParsedBatch
from pactmatch.ranker_repository import RankerRepository
from pactmatch.rankers import default_ranker, fit_store_ranker
from pactmatch.service import PactmatchService
from tests.conftest import TEST_ACTOR


@pytest.fixture
def filled(hashing_service: PactmatchService) -> PactmatchService:
    data = synthetic_consortia(250, 300, seed=5)
    batch = ParsedBatch(
        organisations=data.organisations, partnerships=data.partnerships, memberships=data.memberships
    )
    report = hashing_service.import_batch(batch, "synthetic", actor=TEST_ACTOR)
    assert report.ok
    return hashing_service


def test_fit_save_reload_round_trip(filled: PactmatchService, tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = filled.store
    assert default_ranker(filled.snapshot(), store).name == HeuristicRecommender.name  # nothing fitted yet
    summary = fit_store_ranker(store, filled.encoder, filled.cache)
    assert summary.examples >= 20 and summary.positives > 0
    assert RankerRepository.ARTIFACT in store.list_artifacts()
    stored = json.loads(store.get_artifact(RankerRepository.ARTIFACT) or b"")
    assert stored["format"] == "pactmatch-learned-ranker"  # plain JSON numbers, no pickle
    assert stored["meta"]["encoder_model"] == filled.model_name

    # A fresh service on the same store (a restart) serves the learned ranker with explanations.
    path = store.path  # type: ignore[attr-defined]
    store.close()
    reopened = EmbeddedStore(path)
    service = PactmatchService(reopened, encoder="hashing", cache=EmbeddingCache(tmp_path / "c2.sqlite"))
    ranker = service.ranker()
    assert isinstance(ranker, LearnedRecommender)
    assert list(ranker.weights.values()) == pytest.approx(summary.weights_list)
    pid = next(p.partnership_id for p in reopened.iter_partnerships())
    result = service.candidates(pid, top_k=5)
    assert result.model == ranker.name == "learned-lgbm-v2"
    assert len(result.items) == 5
    for item in result.items:
        assert sum(c.value for c in item.recommendation.contributions) == pytest.approx(item.score)
    reopened.close()


def test_another_encoder_or_a_corrupt_artifact_falls_back_to_the_heuristic(filled: PactmatchService) -> None:
    store = filled.store
    fit_store_ranker(store, filled.encoder, filled.cache)
    snap = filled.snapshot()
    assert isinstance(default_ranker(snap, store), LearnedRecommender)
    other = Snapshot.from_data(store.read_graph("sentence-transformers/all-MiniLM-L6-v2"))
    assert isinstance(default_ranker(other, store), HeuristicRecommender)
    store.put_artifact(RankerRepository.ARTIFACT, b"{not json")
    assert isinstance(default_ranker(snap, store), HeuristicRecommender)
    with pytest.raises(InvalidInputError, match="not valid JSON"):
        RankerRepository(store).load()


def test_too_little_data_to_fit_is_a_clear_error(hashing_service: PactmatchService) -> None:
    data = synthetic_consortia(40, 10, seed=1)
    hashing_service.import_batch(
        ParsedBatch(
            organisations=data.organisations, partnerships=data.partnerships, memberships=data.memberships
        ),
        "tiny",
        actor=TEST_ACTOR,
    )
    with pytest.raises(InvalidInputError, match="at least 80 partnerships"):
        fit_store_ranker(hashing_service.store, hashing_service.encoder, hashing_service.cache)
    assert hashing_service.store.get_artifact(RankerRepository.ARTIFACT) is None
