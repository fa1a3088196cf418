"""The two scoring models behind the learned ranker, each with exact additive explanations.

* :class:`TreeModel` (default, ``lgbm``): LightGBM gradient-boosted trees fitted with a listwise
  ranking objective (XE-NDCG; LambdaRank is one setting away) on hide-and-rank examples, i.e.
  directly for the order of candidates within one partnership. Explanations are TreeSHAP values (LightGBM's ``pred_contrib``): per feature,
  exact for the trees, and together with the model's expected value they add up to the score.
* :class:`LinearModel` (``logreg``): a pairwise logistic regression on standardised features,
  calibrated to log-odds; a contribution is ``w_i · (x_i − mean_i) / scale_i``.

Both are stored as plain JSON (numbers, and LightGBM's own text model format for the trees),
never pickle: a stored model can be read, diffed and loaded without running code from the file.
Gradient boosting is LightGBM's, not hand-written: it is the well-kept library for ranking
objectives with exact tree attributions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Protocol

import numpy as np
import numpy.typing as npt

from domain.errors import FieldIssue, InvalidInputError

Estimator = Literal["lgbm", "logreg"]
ESTIMATORS: tuple[Estimator, ...] = ("lgbm", "logreg")


@dataclass(frozen=True)
class TreeParams:
    """LightGBM settings, compared on a validation year (fit on 2016 projects, ranked 2017 ones).

    Small trees and many of them: the signals are few and strong, and 15-leaf trees did no better
    on the validation year (docs/evaluation.md lists what was compared and what it scored).
    """

    objective: str = "rank_xendcg"  # the validation year's best (0.1636 vs "lambdarank" 0.1613)
    n_estimators: int = 500
    learning_rate: float = 0.05
    num_leaves: int = 7
    min_child_samples: int = 50
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    truncation_level: int = 20  # with "lambdarank": pairs involving the top 20 (the visible list)


class ScoringModel(Protocol):
    """What the learned ranker needs from a model."""

    @property
    def kind(self) -> Estimator: ...

    @property
    def features(self) -> tuple[str, ...]: ...

    def decision(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]: ...

    def explain(
        self, x: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...

    def importance(self) -> dict[str, float]: ...

    def to_dict(self) -> dict[str, object]: ...


@dataclass(frozen=True)
class LinearModel:
    """A logistic regression on standardised features, as plain numbers."""

    features: tuple[str, ...]
    mean: npt.NDArray[np.float64]
    scale: npt.NDArray[np.float64]
    coef: npt.NDArray[np.float64]
    intercept: float
    kind: ClassVar[Estimator] = "logreg"

    def contributions(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Per-feature shares of the log-odds, ``w_i · (x_i − mean_i) / scale_i``."""
        return ((x - self.mean) / self.scale) * self.coef

    def decision(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return self.intercept + ((x - self.mean) / self.scale) @ self.coef

    def explain(self, x: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """(baseline per row, contributions per row and feature); they add up to :meth:`decision`."""
        return np.full(len(x), self.intercept), self.contributions(x)

    def importance(self) -> dict[str, float]:
        """Weight per feature on the standardised scale."""
        return dict(zip(self.features, self.coef.tolist(), strict=True))

    def to_dict(self) -> dict[str, object]:
        return {
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
        }

    @classmethod
    def from_dict(cls, features: tuple[str, ...], data: dict[str, Any]) -> LinearModel:
        arrays = {}
        for key in ("mean", "scale", "coef"):
            try:
                values = np.asarray(data.get(key), dtype=np.float64)
            except (TypeError, ValueError):
                values = np.zeros(0)
            if values.shape != (len(features),) or not np.all(np.isfinite(values)):
                raise InvalidInputError(f"ranker field {key!r} must be {len(features)} finite numbers")
            arrays[key] = values
        if np.any(arrays["scale"] <= 0):
            raise InvalidInputError("ranker field 'scale' must be positive")
        try:
            intercept = float(data.get("intercept", math.nan))
        except (TypeError, ValueError):
            intercept = math.nan
        if not math.isfinite(intercept):
            raise InvalidInputError("ranker field 'intercept' must be a finite number")
        return cls(features, arrays["mean"], arrays["scale"], arrays["coef"], intercept)

    @classmethod
    def fit(
        cls,
        features: tuple[str, ...],
        x: npt.NDArray[np.float64],
        y: npt.NDArray[np.float64],
        groups: npt.NDArray[np.int64],
        rng: np.random.Generator,
        C: float = 1.0,
    ) -> LinearModel:
        """Weights from pairs (joiner vs non-joiner of one partnership), then calibrated to log-odds."""
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler

        scaler = StandardScaler().fit(x)
        scale = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
        z = (x - scaler.mean_) / scale
        diffs = pairwise_differences(z, y, groups, rng)
        if not len(diffs):
            raise InvalidInputError(
                "no training example has both a joiner and a non-joiner among its candidates"
            )
        pairs = np.vstack([diffs, -diffs])
        wins = np.concatenate([np.ones(len(diffs)), np.zeros(len(diffs))])
        w = LogisticRegression(C=C, fit_intercept=False, max_iter=2000).fit(pairs, wins).coef_[0]
        # Calibration: log-odds of joining = a · (w · z) + b, so a score still reads as log-odds
        # and the contributions a · w_i · z_i plus the baseline b still add up to it.
        calibration = LogisticRegression(max_iter=1000).fit((z @ w)[:, None], y)
        a, b = float(calibration.coef_[0, 0]), float(calibration.intercept_[0])
        if a <= 0:  # cannot happen with informative features; keep the ranking if it does
            a, b = 1.0, 0.0
        return cls(features, scaler.mean_.astype(np.float64), scale.astype(np.float64),
                   (a * w).astype(np.float64), b)  # fmt: skip


def pairwise_differences(
    z: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    groups: npt.NDArray[np.int64],
    rng: np.random.Generator,
    per_positive: int = 40,
) -> npt.NDArray[np.float64]:
    """``z[joiner] − z[non-joiner]`` for pairs from the same example (up to ``per_positive`` each).

    A linear model fitted to tell the two orders of such pairs apart ranks candidates *within* a
    partnership, which is the task; a pointwise model also spends capacity on telling partnerships
    apart (some have many likely joiners, some none), which ranking never uses.
    """
    diffs = []
    order = np.argsort(groups, kind="stable")
    bounds = np.flatnonzero(np.diff(groups[order])) + 1
    for block in np.split(order, bounds):
        pos = block[y[block] == 1]
        neg = block[y[block] == 0]
        if not len(pos) or not len(neg):
            continue
        for p in pos:
            chosen = rng.choice(neg, min(per_positive, len(neg)), replace=False)
            diffs.append(z[p] - z[chosen])
    return np.vstack(diffs) if diffs else np.zeros((0, z.shape[1]))


class TreeModel:
    """A LightGBM ranking booster; scores are raw ranking scores (higher = more likely to join)."""

    kind: ClassVar[Estimator] = "lgbm"

    def __init__(self, features: tuple[str, ...], text: str) -> None:
        import lightgbm as lgb

        try:
            booster = lgb.Booster(model_str=text)
        except (lgb.basic.LightGBMError, ValueError, TypeError) as exc:
            raise InvalidInputError(f"ranker field 'booster' is not a LightGBM model: {exc}") from exc
        if tuple(booster.feature_name()) != features:
            raise InvalidInputError(
                f"ranker field 'booster' uses features {booster.feature_name()}, expected {list(features)}"
            )
        self.features = features
        self.text = text
        self.booster = booster

    def decision(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        # One query's pool is a few thousand rows: threads cost more than they save (as for BLAS).
        out = self.booster.predict(x, raw_score=True, num_threads=1)
        return np.asarray(out, dtype=np.float64)

    def explain(self, x: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """TreeSHAP: (expected value per row, per-feature contributions); rows add up to the score."""
        contrib = np.asarray(self.booster.predict(x, pred_contrib=True, num_threads=1), dtype=np.float64)
        return contrib[:, -1], contrib[:, :-1]

    def importance(self) -> dict[str, float]:
        """Share of the total split gain per feature (what the trees lean on overall)."""
        gain = np.asarray(self.booster.feature_importance(importance_type="gain"), dtype=np.float64)
        total = float(gain.sum())
        share = gain / total if total > 0 else gain
        return dict(zip(self.features, share.tolist(), strict=True))

    def to_dict(self) -> dict[str, object]:
        return {"booster": self.text}

    @classmethod
    def from_dict(cls, features: tuple[str, ...], data: dict[str, Any]) -> TreeModel:
        text = data.get("booster")
        if not isinstance(text, str) or not text.strip():
            raise InvalidInputError("ranker field 'booster' must be a LightGBM model in its text format")
        return cls(features, text)

    @classmethod
    def fit(
        cls,
        features: tuple[str, ...],
        x: npt.NDArray[np.float64],
        y: npt.NDArray[np.float64],
        groups: npt.NDArray[np.int64],
        seed: int,
        params: TreeParams,
    ) -> TreeModel:
        """A ranking objective over the examples' candidate groups (rows must be ordered by group)."""
        import lightgbm as lgb

        if np.any(np.diff(groups) < 0):
            raise ValueError("training rows must be ordered by example")
        counts = np.bincount(groups - groups.min()) if len(groups) else np.zeros(0, dtype=np.int64)
        ranker = lgb.LGBMRanker(
            objective=params.objective,
            n_estimators=params.n_estimators,
            learning_rate=params.learning_rate,
            num_leaves=params.num_leaves,
            min_child_samples=params.min_child_samples,
            subsample=params.subsample,
            subsample_freq=1,
            colsample_bytree=params.colsample_bytree,
            lambdarank_truncation_level=params.truncation_level,
            random_state=seed,
            deterministic=True,
            force_row_wise=True,
            verbose=-1,
        )
        ranker.fit(x, y, group=counts[counts > 0], feature_name=list(features))
        return cls(features, ranker.booster_.model_to_string())


def model_from_dict(kind: object, features: tuple[str, ...], data: dict[str, Any]) -> ScoringModel:
    """The stored model of ``kind`` (``InvalidInputError`` naming the field when it is malformed)."""
    if kind == "logreg":
        return LinearModel.from_dict(features, data)
    if kind == "lgbm":
        return TreeModel.from_dict(features, data)
    raise InvalidInputError(f"ranker field 'estimator' must be one of {list(ESTIMATORS)}, not {kind!r}")


def check_estimator(kind: str) -> Estimator:
    """``kind`` as an :data:`Estimator`, or ``InvalidInputError`` naming the ``estimator`` field."""
    for e in ESTIMATORS:
        if kind == e:
            return e
    raise InvalidInputError(
        f"estimator must be one of {list(ESTIMATORS)}, not {kind!r}",
        [FieldIssue("estimator", f"one of {list(ESTIMATORS)}")],
    )


__all__: Sequence[str] = [
    "ESTIMATORS",
    "Estimator",
    "LinearModel",
    "ScoringModel",
    "TreeModel",
    "TreeParams",
    "check_estimator",
    "model_from_dict",
    "pairwise_differences",
]
