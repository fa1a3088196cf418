"""Same data, same answers: the embedded store (snapshot path) and the Bolt store (database path).

The same organisations, partnerships and memberships go into both stores through the service
(hashing encoder); candidates for the same partnerships must agree. On the small hand-made
fixture they agree exactly (every eligible organisation fits in the pool, so the database path
scores them all). On a CORDIS slice the vector index is approximate (HNSW), so a near-tie can
be missed: there the top-10 sets must be equal, or every rank's score within :data:`TOLERANCE`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.candidates import CandidateFilters
from domain.models import Ecosystem, StakeholderType
from embeddings import EmbeddingCache
from graph.arcadedb_server import ArcadeDBServer
from graph.embedded import EmbeddedStore
from graph.neo4j_store import Neo4jStore
from pactmatch.importers import read_cordis
from pactmatch.importers.report import ParsedBatch
from pactmatch.service import CandidateList, PactmatchService
from tests.conftest import CONSORTIA, TEST_ACTOR, member, org, partnership, requires_shared_data
from tests.graph.conftest import fresh_bolt_store

pytestmark = pytest.mark.bolt

#: Largest per-rank score difference accepted where the approximate vector index missed a near-tie.
TOLERANCE = 0.01


def fixture_batch() -> ParsedBatch:
    """Two regional clusters (Stuttgart, Lyon), a national body, shared earlier projects."""
    o = [
        org("bosch", name="Bosch welding plant", stakeholder_type="large_employer", nuts_codes=["DE111"],
            description="Industrial welding and automotive production; apprenticeships in welding", ecosystems=["mobility_transport_automotive"]),
        org("vet-s", name="Berufsschule Stuttgart", stakeholder_type="vet_provider", nuts_codes=["DE111"],
            description="Vocational school for metal work and welding technicians"),
        org("uni-s", name="University of Stuttgart", stakeholder_type="higher_education", nuts_codes=["DE111"],
            description="Engineering university: welding research, materials, automotive"),
        org("ihk", name="IHK Region Stuttgart", stakeholder_type="chamber_business_association", nuts_codes=["DE11"],
            description="Chamber of commerce; vocational training and apprenticeships"),
        org("union", name="IG Metall Stuttgart", stakeholder_type="trade_union", nuts_codes=["DE113"],
            description="Metal workers union, training and welding skills"),
        org("esslingen", name="Hochschule Esslingen", stakeholder_type="higher_education", nuts_codes=["DE113"],
            description="Applied sciences: mechanical engineering and welding"),
        org("sme-weld", name="Schweisstechnik Müller", stakeholder_type="sme", sme=True, nuts_codes=["DE112"],
            description="Small welding company, training of welders", ecosystems=["construction"]),
        org("ba", name="Agentur für Arbeit", stakeholder_type="public_employment_service", country="DE",
            description="Public employment service; upskilling and reskilling programmes"),
        org("lyon-vet", name="Lycée professionnel Lyon", stakeholder_type="vet_provider", country="FR",
            nuts_codes=["FRK26"], description="Vocational training in welding and boiler making"),
        org("lyon-sme", name="Soudure Rhône", stakeholder_type="sme", sme=True, country="FR", nuts_codes=["FRK26"],
            description="Welding SME in the Rhône valley"),
        org("renault", name="Renault Lyon", stakeholder_type="large_employer", country="FR", nuts_codes=["FRK26"],
            description="Automotive manufacturing; welding robots", ecosystems=["mobility_transport_automotive"]),
        org("afpa", name="AFPA", stakeholder_type="national_public_body", country="FR",
            description="National adult vocational training agency"),
        org("ngo", name="Skills for All", stakeholder_type="civil_society_ngo", country="BE", nuts_codes=["BE100"],
            description="NGO for inclusive digital and technical skills", ecosystems=["digital"]),
    ]  # fmt: skip
    p = [
        partnership("rsp-stuttgart", name="Welding skills partnership Stuttgart", kind="regional",
                    scope_regions=["DE11"], ecosystems=["mobility_transport_automotive"],
                    description="Regional skills partnership for welding and automotive apprenticeships"),
        partnership("rsp-lyon", name="Partenariat soudure Lyon", kind="regional", scope_regions=["FRK2"],
                    description="Welding and boiler making skills in the Lyon region"),
        partnership("lsp-auto", name="Automotive skills alliance", kind="large_scale",
                    ecosystems=["mobility_transport_automotive"],
                    description="Large-scale partnership for automotive reskilling"),
        partnership("old-1", name="Earlier welding project"),
        partnership("old-2", name="Earlier apprenticeship project"),
        partnership("old-3"),
    ]  # fmt: skip
    m = [
        member("bosch", "rsp-stuttgart", "coordinator"), member("vet-s", "rsp-stuttgart"),
        member("lyon-vet", "rsp-lyon", "coordinator"), member("lyon-sme", "rsp-lyon"),
        member("bosch", "lsp-auto", "coordinator"), member("renault", "lsp-auto"),
        member("bosch", "old-1"), member("uni-s", "old-1"), member("union", "old-1"), member("lyon-vet", "old-1"),
        member("vet-s", "old-2"), member("ihk", "old-2"), member("uni-s", "old-2"), member("afpa", "old-2"),
        member("renault", "old-3"), member("esslingen", "old-3"), member("lyon-sme", "old-3"), member("ngo", "old-3"),
    ]  # fmt: skip
    return ParsedBatch(organisations=o, partnerships=p, memberships=m)


FILTERS = [
    CandidateFilters(),
    CandidateFilters(countries=("DE",)),
    CandidateFilters(regions=("DE11",)),
    CandidateFilters(stakeholder_types=(StakeholderType.HIGHER_EDUCATION, StakeholderType.TRADE_UNION)),
    CandidateFilters(sme_only=True),
    CandidateFilters(ecosystems=(Ecosystem.MOBILITY_TRANSPORT_AUTOMOTIVE,)),
    CandidateFilters(exclude_org_ids=("uni-s",)),
    CandidateFilters(org_ids=("union", "afpa", "ngo")),
]


@pytest.fixture
def two_services(
    arcadedb: ArcadeDBServer, tmp_path: Path
) -> Iterator[tuple[PactmatchService, PactmatchService]]:
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    embedded = PactmatchService(EmbeddedStore(tmp_path / "store"), encoder="hashing", cache=cache)
    bolt_store = fresh_bolt_store(arcadedb)
    bolt = PactmatchService(bolt_store, encoder="hashing", cache=cache)
    yield embedded, bolt
    embedded.store.close()
    bolt_store.close()
    arcadedb.drop_database(bolt_store.database)


def as_rows(result: CandidateList) -> list[tuple[float, str, str, tuple[tuple[str, str], ...]]]:
    """Rows in rank order, scores to 5 decimals. Scores equal to float precision (the database
    computes cosines from float32 vectors, numpy too but in another order) are put in id order,
    which is what both paths do for exact ties."""
    rows = [
        (
            round(i.score, 5),
            i.org_id,
            i.name,
            tuple((c.signal, c.evidence) for c in i.recommendation.contributions),
        )
        for i in result.items
    ]
    return sorted(rows, key=lambda r: (-r[0], r[1]))


def test_hand_made_fixture_gives_identical_candidates(
    two_services: tuple[PactmatchService, PactmatchService],
) -> None:
    embedded, bolt = two_services
    for service in (embedded, bolt):
        report = service.import_batch(fixture_batch(), "fixture", actor=TEST_ACTOR)
        assert report.ok and report.counts.memberships.created == 18
    assert isinstance(bolt.store, Neo4jStore) and bolt._candidate_source() is bolt.store  # database path
    assert embedded._candidate_source() is None  # snapshot path
    for pid in ("rsp-stuttgart", "rsp-lyon", "lsp-auto", "old-3"):
        for flt in FILTERS:
            for top_k in (3, 10):
                expected = embedded.candidates(pid, top_k=top_k, filters=flt)
                got = bolt.candidates(pid, top_k=top_k, filters=flt)
                assert as_rows(got) == as_rows(expected), (pid, flt, top_k)
                assert got.model == expected.model == "heuristic-v1"
    stuttgart = as_rows(bolt.candidates("rsp-stuttgart", top_k=3))
    assert stuttgart[0][1] in {"uni-s", "union", "ihk"}  # linked through the earlier projects


def _cordis_slice(tmp: Path, projects: int) -> tuple[Path, Path]:
    """The first ``projects`` projects of the real CORDIS export and their participations."""
    with (CONSORTIA / "projects.csv").open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = [row for _, row in zip(range(projects), reader, strict=False)]
        fields = list(reader.fieldnames or [])
    keep = {r["project_id"] for r in rows}
    out_p, out_m = tmp / "projects.csv", tmp / "participants.csv"
    with out_p.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    with (CONSORTIA / "participants.csv").open(encoding="utf-8-sig", newline="") as src:
        reader = csv.DictReader(src)
        with out_m.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(reader.fieldnames or []))
            writer.writeheader()
            writer.writerows(r for r in reader if r["project_id"] in keep)
    return out_p, out_m


@pytest.mark.shared_data
@requires_shared_data
def test_cordis_slice_candidates_agree(
    two_services: tuple[PactmatchService, PactmatchService], tmp_path: Path
) -> None:
    embedded, bolt = two_services
    batch = read_cordis(*_cordis_slice(tmp_path, 1000))
    for service in (embedded, bolt):
        service.import_batch(batch, "cordis slice", actor=TEST_ACTOR)
    assert embedded.store.counts() == bolt.store.counts()
    snapshot = embedded.snapshot()
    eligible = [pid for j, pid in enumerate(snapshot.partnership_ids) if len(snapshot.members_of(j)) >= 3]
    picks = eligible[:: max(1, len(eligible) // 20)][:20]
    assert len(picks) >= 15
    identical = 0
    for pid in picks:
        expected = embedded.candidates(pid, top_k=10)
        got = bolt.candidates(pid, top_k=10)
        assert len(got.items) == len(expected.items)
        if {i.org_id for i in got.items} == {i.org_id for i in expected.items}:
            identical += 1
        for rank, (a, b) in enumerate(zip(expected.items, got.items, strict=True)):
            assert abs(a.score - b.score) <= TOLERANCE, (pid, rank, a.org_id, b.org_id)
    assert identical >= 0.8 * len(picks)
