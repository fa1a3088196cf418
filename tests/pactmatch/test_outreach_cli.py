"""``pactmatch join / interest / shortlist`` on the demo dataset, and shortlist outcomes read back by
``pactmatch evaluate --feedback`` and shown after ``pactmatch fit``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from pactmatch.demo import demo_dataset_path
from tests.pactmatch.conftest import run
from tests.pactmatch.test_evaluate_cli import write_cordis

ORG, LSP = "demo-org-005", "demo-lsp-offshore-wind"  # a Basque university, and a partnership for it


def test_an_organisation_finds_partnerships_and_a_coordinator_shortlists_it(
    env: dict[str, str], tmp_path: Path
) -> None:
    assert run(env, "import", "json", str(demo_dataset_path()))[0] == 0
    code, out = run(env, "join", ORG, "--top-k", "3", "--format", "json")
    assert code == 0, out
    result = json.loads(out)
    assert result["model"] == "heuristic-join-v1" and len(result["items"]) == 3 and result["total"] >= 3
    assert result["items"][0]["partnership_id"] == LSP  # it shares 4 members with its Basque partnership
    assert [r["key"] for r in result["items"][0]["reasons"]] == ["collaboration", "topic", "region", "type"]
    code, out = run(env, "join", ORG, "--kind", "large_scale", "--country", "ES")
    assert code == 0, out
    assert f"Partnerships Universidad Rosora ({ORG}) could join" in out and "demo-rsp" not in out
    assert "region" in out and "partnership(s) ranked" in out
    code, out = run(env, "join", ORG, "--region", "XX99")
    assert code == 1 and "XX99" in out

    code, out = run(env, "interest", "add", ORG, LSP, "--message", "We train energy engineers")
    assert code == 0 and "recorded" in out, out
    code, out = run(env, "interest", "list", "--partnership", LSP)
    assert code == 0 and "We train energy engineers" in out and ORG in out, out
    assert run(env, "interest", "list")[0] != 0  # name --org or --partnership
    code, out = run(env, "candidates", LSP, "--top-k", "50")
    assert code == 0 and "asked to join" in out, out
    code, out = run(env, "join", ORG, "--top-k", "1")
    assert "interest expressed" in out

    code, out = run(env, "shortlist", "set", LSP, ORG, "--note", "met at the brokerage day")
    assert code == 0 and "shortlisted" in out, out
    code, out = run(env, "shortlist", "set", LSP, ORG, "--status", "contacted", "--date", "2026-03-05")
    assert code == 0 and "now contacted" in out, out
    assert run(env, "shortlist", "set", LSP, ORG, "--date", "March")[0] == 1
    code, out = run(env, "shortlist", "join", LSP, ORG, "--since", "2026-04-01")
    assert code == 0 and "joined" in out, out
    code, out = run(env, "shortlist", "show", LSP, "--format", "json")
    [entry] = json.loads(out)
    assert entry["status"] == "joined" and entry["member"] and entry["interest"]
    assert [h["status"] for h in entry["history"]] == ["shortlisted", "contacted", "joined"]
    export = tmp_path / "shortlist.csv"
    assert run(env, "shortlist", "export", LSP, "--out", str(export))[0] == 0
    [row] = list(csv.DictReader(export.open(encoding="utf-8")))
    assert row["organisation"] == "Universidad Rosora" and row["status"] == "joined"

    outcomes = tmp_path / "outcomes.csv"
    assert run(env, "shortlist", "outcomes", "--out", str(outcomes))[0] == 0
    assert outcomes.read_text(encoding="utf-8").splitlines()[-1] == f"{LSP},{ORG},joined,2026-04-01"
    code, out = run(env, "evaluate", "--feedback", str(outcomes), "--format", "json")
    assert code == 0, out
    report = json.loads(out)
    assert report["outcomes"] == 1 and report["skipped"] == {}
    joined = report["rankers"]["heuristic-v1"]["joined"]
    assert joined["count"] == 1 and joined["found"] == 1 and joined["median_rank"] >= 1
    code, out = run(env, "evaluate", "--feedback", str(outcomes))
    assert code == 0 and "heuristic-v1" in out and "joined" in out and "median rank" in out, out

    assert run(env, "interest", "withdraw", ORG, LSP)[0] == 0
    code, out = run(env, "interest", "withdraw", ORG, LSP)
    assert code == 1 and "not found" in out
    assert run(env, "shortlist", "remove", LSP, ORG)[0] == 0
    assert "Shortlist of" in run(env, "shortlist", "show", LSP)[1]


def test_fit_shows_how_the_shortlisted_rank_under_the_new_ranker(env: dict[str, str], tmp_path: Path) -> None:
    projects, participants = write_cordis(tmp_path)
    assert (
        run(env, "import", "cordis", "--projects", str(projects), "--participants", str(participants))[0] == 0
    )
    assert run(env, "shortlist", "set", "P000250", "O000001", "--status", "declined")[0] == 0
    code, out = run(env, "fit")
    assert code == 0, out
    assert "Shortlist outcomes: their ranks now" in out and "learned-lgbm-v2" in out and "declined" in out
