"""``pactmatch evaluate`` (recommender quality on real consortia) and ``pactmatch fit`` (learned ranker).

``evaluate`` reads CORDIS-format files, splits them by start date, fits the learned ranker on the
years before the cut, and ranks every test project's hidden members with all baselines and the
product's rankers side by side (protocol in docs/evaluation.md); with ``--feedback`` it ranks the
organisations of exported shortlist outcomes on a store instead. ``fit`` fits the learned ranker on
a store's own partnerships and saves it with the store, then shows how the store's shortlist
outcomes rank under it.

No ``from __future__ import annotations`` here: Typer reads the option types at definition time,
and the shared options (``StoreOption`` ...) are imported inside :func:`register`.
"""

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated

import numpy as np
import numpy.typing as npt
import typer
from rich.table import Table

from domain.errors import FieldIssue, InvalidInputError
from embeddings import EmbeddingCache, Encoder, embed_texts, make_encoder
from matching.diversity import DiversityOptions
from matching.evaluation.baselines import HeuristicIndexRanker, IndexRanker, baselines
from matching.evaluation.data import Embed, Progress, history_snapshot
from matching.evaluation.harness import (
    DiversifiedRanker,
    EvaluationResult,
    evaluate_rankers,
    fit_learned_ranker,
)
from matching.evaluation.split import temporal_split
from matching.learned import ESTIMATORS, LearnedRecommender, check_estimator
from matching.recommender import HeuristicRecommender
from pactmatch.cli.common import (
    EncoderOption,
    StoreOption,
    console,
    handled,
    open_service,
    parse_date,
    progress_callback,
    settings_for,
)
from pactmatch.cli.outreach import feedback_json, print_feedback
from pactmatch.importers import read_cordis
from pactmatch.importers.cordis import PROJECT_COLUMNS
from pactmatch.importers.report import RowError, read_csv
from pactmatch.outreach import OutreachService
from pactmatch.outreach_exports import read_outcomes

DEFAULT_DATA = Path("../shared/data/consortia")


@dataclass(frozen=True)
class EvaluationConfig:
    projects: Path
    participants: Path
    cut: date = date(2018, 1, 1)
    end: date | None = None
    fit_years: int = 1
    seed: int = 0
    max_test_projects: int | None = None
    max_fit_projects: int = 3000
    diversity: float = 0.3
    newcomer_share: float = 0.0
    estimators: tuple[str, ...] = ("lgbm",)


def incomplete_projects(projects: Path) -> frozenset[str]:
    """Project ids with ``consortium_complete = 0`` (only some members listed)."""
    errors: list[RowError] = []
    out = set()
    for _, row in read_csv(projects, PROJECT_COLUMNS, errors=errors):
        if row["consortium_complete"].strip() in ("0", "false", "False"):
            out.add(row["project_id"].strip())
    return frozenset(out)


def cached_embedder(
    encoder: Encoder, cache: EmbeddingCache | None, progress: Progress | None
) -> tuple[Embed, dict[str, float]]:
    """An ``embed(texts)`` callable through the cache, and counters of what it encoded."""
    counters = {"texts": 0.0, "encoded": 0.0, "seconds": 0.0}

    def embed(texts: Sequence[str]) -> npt.NDArray[np.float32]:
        done = 0

        def step(n: int) -> None:
            nonlocal done
            done += n
            if progress:
                progress("embed texts (cached ones are instant)", done, len(texts))

        t0 = time.perf_counter()
        vectors, encoded = embed_texts(encoder, texts, cache, on_progress=step)
        counters["texts"] += len(texts)
        counters["encoded"] += encoded
        counters["seconds"] += time.perf_counter() - t0
        return vectors

    return embed, counters


def run_evaluation(
    config: EvaluationConfig, encoder: Encoder, cache: EmbeddingCache | None, progress: Progress | None = None
) -> EvaluationResult:
    """The whole protocol: read, split, fit the learned ranker on earlier years, rank, measure."""
    if not config.estimators:
        raise InvalidInputError(
            "--estimator: name at least one", [FieldIssue("estimator", f"one of {list(ESTIMATORS)}")]
        )
    estimators = [check_estimator(kind) for kind in dict.fromkeys(config.estimators)]
    if config.fit_years < 1:
        raise InvalidInputError(
            "--fit-years: must be at least 1", [FieldIssue("fit_years", "must be at least 1")]
        )
    started = time.perf_counter()
    batch = read_cordis(config.projects, config.participants)
    if not batch.partnerships or not batch.memberships:
        detail = "; ".join(str(e) for e in batch.errors[:3])
        raise InvalidInputError(f"no projects or participations could be read ({detail or 'empty files'})")
    incomplete = incomplete_projects(config.projects)
    split = temporal_split(
        batch.partnerships, batch.memberships, config.cut, end=config.end, seed=config.seed,
        incomplete=incomplete, max_cases=config.max_test_projects,
    )  # fmt: skip
    if not split.cases:
        raise InvalidInputError(
            f"no test project: none with {4}+ members, complete consortium and a start date on or after {config.cut}"
            + (f" and before {config.end}" if config.end else "")
        )
    embed, counters = cached_embedder(encoder, cache, progress)
    fit_cut = date(config.cut.year - config.fit_years, config.cut.month, config.cut.day)
    t_fit = time.perf_counter()
    fitted = [
        fit_learned_ranker(
            batch.organisations, batch.partnerships, batch.memberships, fit_cut=fit_cut, end=config.cut,
            embed=embed, model=encoder.name, incomplete=incomplete, seed=config.seed,
            max_cases=config.max_fit_projects, ranker=LearnedRecommender(estimator=kind, seed=config.seed),
            progress=progress,
        )
        for kind in estimators
    ]  # fmt: skip
    fit_seconds = time.perf_counter() - t_fit
    snapshot = history_snapshot(
        batch.organisations, batch.partnerships, batch.memberships, split, embed,
        model=encoder.name, progress=progress,
    )  # fmt: skip
    bound = [learned.bind(snapshot) for learned in fitted]
    product, learned = bound[0], fitted[0]
    rankers: list[tuple[IndexRanker, str]] = [(b, "baseline") for b in baselines(snapshot, config.seed)]
    rankers.append((HeuristicIndexRanker(HeuristicRecommender().fit(snapshot)), "product"))
    rankers += [(ranker, "product") for ranker in bound]
    if config.diversity > 0:
        rankers.append((DiversifiedRanker(product, DiversityOptions(diversity=config.diversity)), "product"))
    if config.newcomer_share > 0:
        newcomers = DiversityOptions(min_newcomer_share=config.newcomer_share)
        rankers.append((DiversifiedRanker(product, newcomers), "product"))
    setup = {
        "projects_file": str(config.projects), "participants_file": str(config.participants),
        "encoder": encoder.name, "seed": config.seed, "fit_cut": fit_cut.isoformat(),
        "fit_examples": learned.training_.cases, "fit_pool_recall": learned.training_.pool_recall,
        "fit_seconds": fit_seconds, "learned_weights": {r.name: r.weights for r in fitted},
        "texts_embedded": int(counters["texts"]), "texts_encoded": int(counters["encoded"]),
        "embed_seconds": counters["seconds"], "read_errors": len(batch.errors),
    }  # fmt: skip
    result = evaluate_rankers(snapshot, split, rankers, setup=setup, progress=progress)
    result.setup["seconds"] = time.perf_counter() - started
    return result


def results_table(result: EvaluationResult) -> Table:
    s = result.setup
    title = (
        f"Hide-and-rank, test projects starting {s['cut']}{' – ' + s['end'] if s.get('end') else ' onwards'}: "
        f"{s['test_projects']} projects ({s['cold_start_projects']} with newcomers), encoder {s['encoder']}"
    )
    table = Table(title=title, show_lines=False)
    for col in ("ranker", "R@10", "R@50", "NDCG@10", "MRR", "cold R@10", "cold R@50", "cold MRR",
                "coverage", "SME% top10", "country TVD", "p95 ms"):  # fmt: skip
        table.add_column(col, justify="left" if col == "ranker" else "right")
    best = result.best_baseline()
    for r in result.rankers:
        style = "bold" if r.kind == "product" else ("cyan" if best and r.name == best.name else "")
        table.add_row(
            f"{r.name}{' (baseline)' if r.kind == 'baseline' else ''}",
            f"{r.all.recall_at_10:.3f}", f"{r.all.recall_at_50:.3f}", f"{r.all.ndcg_at_10:.3f}", f"{r.all.mrr:.3f}",
            f"{r.cold.recall_at_10:.3f}", f"{r.cold.recall_at_50:.3f}", f"{r.cold.mrr:.3f}",
            f"{r.coverage_top10:.3f}", f"{r.sme_share_top10:.1%}", f"{r.country_tvd_top10:.2f}", f"{r.ms_p95:.1f}",
            style=style,
        )  # fmt: skip
    table.caption = (
        f"hidden members: {result.setup['hidden_members']} ({result.hidden_sme_share:.1%} SMEs), "
        f"{result.setup['cold_hidden_members']} newcomers; MRR over the top {s['list_length']}; "
        f"country TVD = total variation distance between top-10 and hidden members' countries"
    )
    return table


def target_lines(result: EvaluationResult) -> list[str]:
    lines = []
    for t in result.targets():
        lines.append(
            f"{t['ranker']}: Recall@10 = {t['recall_at_10_vs_best_baseline']:.2f}× the best baseline "
            f"({t['best_baseline']}) — target 1.3×: {'met' if t['meets_1_3x'] else 'NOT met'}; cold-start "
            f"Recall@10 {t['cold_recall_at_10']:.3f} vs best baseline {t['best_cold_baseline']} — "
            f"{'beats every baseline' if t['beats_every_baseline_cold'] else 'does NOT beat every baseline'}"
        )
    return lines


def register(app: typer.Typer) -> None:
    """Add ``evaluate`` and ``fit`` to the CLI."""

    @app.command()
    def evaluate(
        projects: Annotated[
            Path, typer.Option("--projects", help="CORDIS-format projects.csv")
        ] = DEFAULT_DATA / "projects.csv",
        participants: Annotated[
            Path, typer.Option("--participants", help="CORDIS-format participants.csv")
        ] = DEFAULT_DATA / "participants.csv",
        cut: Annotated[
            str, typer.Option("--cut", help="test projects start on or after this date")
        ] = "2018-01-01",
        end: Annotated[str | None, typer.Option("--end", help="... and before this date")] = None,
        fit_years: Annotated[
            int, typer.Option("--fit-years", min=1, help="years before the cut to learn from")
        ] = 1,
        max_test_projects: Annotated[
            int | None, typer.Option("--max-test-projects", min=1, help="seeded sample for quick runs")
        ] = None,
        max_fit_projects: Annotated[
            int, typer.Option("--max-fit-projects", min=1, help="seeded sample of training projects")
        ] = 3000,
        diversity: Annotated[
            float,
            typer.Option("--diversity", min=0.0, max=1.0, help="also report MMR re-ranking at this strength"),
        ] = 0.3,
        newcomer_share: Annotated[
            float,
            typer.Option(
                "--newcomer-share",
                min=0.0,
                max=1.0,
                help="also report a quota of organisations with no partnership yet in each top 10",
            ),
        ] = 0.0,
        estimator: Annotated[
            list[str] | None,
            typer.Option(
                "--estimator",
                help=f"learned model(s) to fit and compare: {' | '.join(ESTIMATORS)} (repeatable; default lgbm)",
            ),
        ] = None,
        seed: Annotated[int, typer.Option("--seed")] = 0,
        encoder: EncoderOption = None,
        json_out: Annotated[
            Path | None, typer.Option("--json-out", help="write all figures as JSON here")
        ] = None,
        output: Annotated[str, typer.Option("--format", help="table | json")] = "table",
        feedback: Annotated[
            Path | None,
            typer.Option(
                "--feedback",
                help="shortlist outcomes (pactmatch shortlist outcomes): rank their organisations on --store "
                "instead of running the CORDIS protocol",
            ),
        ] = None,
        store: StoreOption = None,
    ) -> None:
        """Measure recommender quality on real consortia: baselines vs the product's rankers.

        With ``--feedback`` it reports instead how the store's rankers rank the organisations that
        coordinators shortlisted, per latest status (joined ones as before they joined)."""
        if feedback is not None:
            with handled():
                outcomes = read_outcomes(feedback)
                report = OutreachService(open_service(store, encoder)).feedback(outcomes)
            if output == "json":
                console.print_json(json.dumps(feedback_json(report), ensure_ascii=False))
            else:
                print_feedback(
                    report, f"Shortlist outcomes of {feedback.name}: their ranks among the non-members"
                )
            return
        with handled():
            config = EvaluationConfig(
                projects, participants, parse_date("cut", cut), parse_date("end", end) if end else None, fit_years, seed,
                max_test_projects, max_fit_projects, diversity, newcomer_share, tuple(estimator or ("lgbm",)),
            )  # fmt: skip
            settings = settings_for(None, encoder)
            enc = make_encoder(settings.encoder)
            cache = EmbeddingCache(settings.cache_dir / "embeddings.sqlite")
            with progress_callback(output == "table") as progress:
                result = run_evaluation(config, enc, cache, progress)
        payload = result.to_dict()
        if json_out:
            json_out.write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")
        if output == "json":
            console.print_json(json.dumps(payload, ensure_ascii=False))
            return
        console.print(results_table(result))
        for line in target_lines(result):
            console.print(line, highlight=False)
        s = result.setup
        console.print(
            f"[dim]fit on {s['fit_examples']} projects from {s['fit_cut']} (candidate pool holds "
            f"{s['fit_pool_recall']:.0%} of their hidden members); {s['texts_encoded']} of {s['texts_embedded']} "
            f"texts newly encoded; {s['seconds']:.0f} s in all[/]"
        )
        if json_out:
            console.print(f"figures written to {json_out}")

    @app.command()
    def fit(
        store: StoreOption = None,
        encoder: EncoderOption = None,
        seed: Annotated[int, typer.Option("--seed")] = 0,
        max_examples: Annotated[int, typer.Option("--max-examples", min=20)] = 3000,
        estimator: Annotated[
            str, typer.Option("--estimator", help=f"the model: {' | '.join(ESTIMATORS)}")
        ] = "lgbm",
    ) -> None:
        """Fit the learned ranker on the store's partnerships and save it with the store."""
        from pactmatch.rankers import fit_store_ranker

        with handled():
            kind = check_estimator(estimator)
            service = open_service(store, encoder)
            with progress_callback() as progress:
                summary = fit_store_ranker(
                    service.store, service.encoder, service.cache, seed=seed, max_examples=max_examples,
                    estimator=kind, progress=progress,
                )  # fmt: skip
        title = (
            "Learned ranker weights (standardised features)"
            if kind == "logreg"
            else "Learned ranker: share of the trees' split gain per feature"
        )
        table = Table(title=title)
        table.add_column("feature")
        table.add_column("weight" if kind == "logreg" else "gain share", justify="right")
        for name, w in sorted(summary.weights.items(), key=lambda kv: -abs(kv[1])):
            table.add_row(name, f"{w:+.3f}" if kind == "logreg" else f"{w:.1%}")
        console.print(table)
        with handled():
            outreach = OutreachService(service)
            if outreach.outcomes():
                print_feedback(
                    outreach.feedback(),
                    "Shortlist outcomes: their ranks now, the new ranker beside the others",
                )
        console.print(
            f"fitted on {summary.examples} hide-and-rank examples from partnerships starting from "
            f"{summary.fit_cut} ({summary.rows} rows, "
            f"{summary.positives} joiners; pool recall {summary.pool_recall:.0%}), encoder {summary.encoder_model}; "
            "saved as ranker.json — `candidates` now uses it",
            highlight=False,
        )
