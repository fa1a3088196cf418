"""Hide-and-rank evaluation on temporal splits: splits, metrics, baselines and the harness."""

from matching.evaluation.baselines import IndexRanker, baselines
from matching.evaluation.harness import EvaluationResult, evaluate_rankers, fit_learned_ranker
from matching.evaluation.metrics import catalogue_coverage, ndcg_at_k, recall_at_k, reciprocal_rank
from matching.evaluation.split import TemporalSplit, TestCase, hide_members, temporal_split

__all__ = [
    "EvaluationResult",
    "IndexRanker",
    "TemporalSplit",
    "TestCase",
    "baselines",
    "catalogue_coverage",
    "evaluate_rankers",
    "fit_learned_ranker",
    "hide_members",
    "ndcg_at_k",
    "recall_at_k",
    "reciprocal_rank",
    "temporal_split",
]
