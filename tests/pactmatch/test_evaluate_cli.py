"""``pactmatch evaluate`` end to end on CORDIS-format files, and ``pactmatch fit`` on a store."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from domain.models import StakeholderType
from matching.evaluation.synthetic import synthetic_consortia
from tests.conftest import CONSORTIA, requires_shared_data
from tests.pactmatch.conftest import run

ACTIVITY = {
    StakeholderType.SME: ("PRC", "True"), StakeholderType.LARGE_EMPLOYER: ("PRC", "False"),
    StakeholderType.HIGHER_EDUCATION: ("HES", ""), StakeholderType.RESEARCH_ORGANISATION: ("REC", ""),
    StakeholderType.NATIONAL_PUBLIC_BODY: ("PUB", ""), StakeholderType.CIVIL_SOCIETY_NGO: ("OTH", ""),
}  # fmt: skip


def write_cordis(folder: Path, n_orgs: int = 220, n_projects: int = 260) -> tuple[Path, Path]:
    """Synthetic consortia in the CORDIS file format (2014–2019, one project marked incomplete)."""
    data = synthetic_consortia(n_orgs, n_projects, seed=11)
    orgs = {o.org_id: o for o in data.organisations}
    projects, participants = folder / "projects.csv", folder / "participants.csv"
    with projects.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "project_id",
                "source",
                "programme",
                "acronym",
                "title",
                "objective",
                "start_date",
                "consortium_complete",
            ]
        )
        for n, p in enumerate(data.partnerships):
            w.writerow(
                [
                    p.partnership_id,
                    "test",
                    "H2020",
                    p.name,
                    p.description,
                    "",
                    p.start_date,
                    0 if n == 200 else 1,
                ]
            )
    with participants.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["project_id", "org_id", "org_name", "role", "activity_type", "sme", "country", "city", "postcode",
                    "nuts_code", "source"])  # fmt: skip
        for m in data.memberships:
            o = orgs[m.org_id]
            activity, sme = ACTIVITY[o.stakeholder_type]
            w.writerow(
                [
                    m.partnership_id,
                    o.org_id,
                    o.name,
                    m.role.value,
                    activity,
                    sme,
                    o.country,
                    "",
                    "",
                    "",
                    "test",
                ]
            )
    return projects, participants


def test_evaluate_on_a_cordis_format_fixture(env: dict[str, str], tmp_path: Path) -> None:
    projects, participants = write_cordis(tmp_path)
    out_json = tmp_path / "figures.json"
    args = ("evaluate", "--projects", str(projects), "--participants", str(participants), "--cut", "2019-01-01",
            "--json-out", str(out_json))  # fmt: skip
    code, out = run(env, *args)
    assert code == 0, out
    for name in ("random", "popularity", "same-country popularity", "text similarity", "Adamic-Adar",
                 "common neighbours", "heuristic-v1", "learned-lgbm-v2", "mmr=0.3"):  # fmt: skip
        assert name in out
    assert "Recall@10 =" in out and "the best baseline" in out  # targets are printed, not asserted
    figures = json.loads(out_json.read_text(encoding="utf-8"))
    assert figures["setup"]["encoder"] == "hashing-512"
    assert figures["setup"]["left_out"].get("consortium incomplete", 0) <= 1
    rows = {r["name"]: r for r in figures["rankers"]}
    for r in rows.values():
        for metric in ("recall_at_10", "recall_at_50", "ndcg_at_10", "mrr"):
            assert 0.0 <= r["all"][metric] <= 1.0
        assert r["all"]["recall_at_10"] <= r["all"]["recall_at_50"]
    assert rows["learned-lgbm-v2"]["all"]["recall_at_10"] > rows["random"]["all"]["recall_at_10"]
    # A second run embeds nothing new: the cache holds every text.
    code, out = run(env, *args[:-2], "--format", "json")
    assert code == 0, out
    assert json.loads(out)["setup"]["texts_encoded"] == 0


def test_evaluate_rejects_bad_input_clearly(env: dict[str, str], tmp_path: Path) -> None:
    projects, participants = write_cordis(tmp_path, 60, 40)
    code, out = run(
        env,
        "evaluate",
        "--projects",
        str(projects),
        "--participants",
        str(participants),
        "--cut",
        "2018-13-01",
    )
    assert code == 1 and "not a date" in out
    code, out = run(
        env,
        "evaluate",
        "--projects",
        str(projects),
        "--participants",
        str(participants),
        "--cut",
        "2030-01-01",
    )
    assert code == 1 and "no test project" in out
    code, out = run(
        env, "evaluate", "--projects", str(tmp_path / "missing.csv"), "--participants", str(participants)
    )
    assert code == 1 and "missing.csv" in out


def test_fit_then_candidates_use_the_learned_ranker(env: dict[str, str], tmp_path: Path) -> None:
    projects, participants = write_cordis(tmp_path)
    code, out = run(env, "import", "cordis", "--projects", str(projects), "--participants", str(participants))
    assert code == 0, out
    code, out = run(env, "fit")
    assert code == 0, out
    assert "saved as ranker.json" in out
    code, out = run(env, "candidates", "P000250", "--top-k", "3", "--format", "json")
    assert code == 0, out
    result = json.loads(out)
    assert result["model"] == "learned-lgbm-v2"
    assert len(result["items"]) == 3
    assert result["items"][0]["contributions"][0]["signal"] == "baseline"


@pytest.mark.shared_data
@requires_shared_data
def test_evaluate_on_a_real_slice(env: dict[str, str], tmp_path: Path) -> None:
    code, out = run(
        env, "evaluate", "--projects", str(CONSORTIA / "projects.csv"), "--participants",
        str(CONSORTIA / "participants.csv"), "--max-test-projects", "40", "--max-fit-projects", "150",
        "--diversity", "0", "--format", "json",
    )  # fmt: skip
    assert code == 0, out
    figures = json.loads(out)
    assert figures["setup"]["test_projects"] == 40
    assert figures["setup"]["catalogue"] > 30_000
    rows = {r["name"]: r for r in figures["rankers"]}
    assert rows["learned-lgbm-v2"]["all"]["recall_at_50"] > rows["random"]["all"]["recall_at_50"]


def test_the_table_keeps_its_figures_whole_when_written_to_a_pipe(
    env: dict[str, str], tmp_path: Path
) -> None:
    """CI logs and ``| tee`` have no terminal width; Rich's fallback of 80 columns cut every
    figure to "0.1…". The real console script, its output piped, with no COLUMNS set."""
    projects, participants = write_cordis(tmp_path)
    piped_env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    piped_env.update({k: v for k, v in env.items() if k != "COLUMNS"})
    done = subprocess.run(
        [sys.executable, "-m", "pactmatch.cli", "evaluate", "--projects", str(projects),
         "--participants", str(participants), "--cut", "2019-01-01", "--json-out", str(tmp_path / "f.json")],
        env=piped_env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    figures = {r["name"]: r for r in json.loads((tmp_path / "f.json").read_text(encoding="utf-8"))["rankers"]}
    learned = next(line for line in done.stdout.splitlines() if line.startswith("│ learned-lgbm-v2 "))
    assert f"{figures['learned-lgbm-v2']['all']['recall_at_10']:.3f}" in learned and "…" not in learned
