"""The learned ranker: candidate generation, pair features, a fitted model, honest explanations.

Two stages, so a query stays fast at tens of thousands of organisations:

1. **Candidate generation** (:mod:`matching.learned.pools`): the union of the organisations
   closest to the partnership text and to the members' profiles (vector top-k), those that worked
   with the current members before (graph neighbourhood, best Adamic–Adar first), the most active
   organisations of the members' countries (regional pool), the most active overall and newcomers.
2. **Ranking** (:mod:`matching.learned.recommender`): :data:`~matching.learned.features.FEATURES`
   for each pooled candidate (:mod:`matching.learned.features`), scored by LightGBM ranking trees
   or a pairwise logistic model (:mod:`matching.learned.models`). Both split a score exactly into a
   baseline plus one contribution per feature, which :mod:`matching.learned.explain` turns into
   evidence a person can check.

Fitting rows come from the same pools and features (:mod:`matching.learned.training`).
"""

from matching.learned.features import FEATURES
from matching.learned.models import ESTIMATORS, Estimator, TreeParams, check_estimator
from matching.learned.pools import PoolSizes
from matching.learned.recommender import LearnedRecommender

__all__ = [
    "ESTIMATORS",
    "FEATURES",
    "Estimator",
    "LearnedRecommender",
    "PoolSizes",
    "TreeParams",
    "check_estimator",
]
