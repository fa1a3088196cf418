"""Shared fixtures: tiny hand-built data, stores, services, and the real CORDIS data when present."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from threadpoolctl import ThreadpoolController

from domain.models import Membership, Organisation, Partnership
from embeddings import EmbeddingCache
from graph.embedded import EmbeddedStore
from pactmatch.service import PactmatchService

# These machines have two shared, noisy cores: a property's first draw can take seconds while the
# other core is busy. Timing is what benchmarks measure; here only the properties count.
settings.register_profile("shared-cores", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("shared-cores")

SHARED_DATA = Path(
    os.environ.get("PACTMATCH_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
CONSORTIA = SHARED_DATA / "consortia"

requires_shared_data = pytest.mark.skipif(
    not (CONSORTIA / "projects.csv").exists(), reason=f"real CORDIS data not found under {CONSORTIA}"
)


@pytest.fixture
def thawed_heap() -> Iterator[None]:
    """Nothing frozen when the test starts, and nothing left frozen after it: the service and the
    API freeze the whole heap (pactmatch.heap), and other tests count on the collector seeing it."""
    gc.unfreeze()
    yield
    gc.unfreeze()


def org(org_id: str, **kw: object) -> Organisation:
    data: dict[str, object] = {"name": f"Org {org_id}", "stakeholder_type": "sme", "country": "DE"}
    data.update(kw)
    return Organisation(org_id=org_id, **data)  # type: ignore[arg-type]


def partnership(pid: str, **kw: object) -> Partnership:
    data: dict[str, object] = {"name": f"Partnership {pid}"}
    data.update(kw)
    return Partnership(partnership_id=pid, **data)  # type: ignore[arg-type]


def member(org_id: str, pid: str, role: str = "member") -> Membership:
    return Membership(org_id=org_id, partnership_id=pid, role=role)  # type: ignore[arg-type]


def blas_threads() -> list[int]:
    """The thread count of every BLAS library numpy and scipy loaded."""
    return [lib.num_threads for lib in ThreadpoolController().select(user_api="blas").lib_controllers]


@pytest.fixture
def two_blas_threads() -> Iterator[list[int]]:
    """BLAS set to two threads for the test (their counts yielded); skipped where none runs two."""
    with ThreadpoolController().limit(limits=2, user_api="blas"):
        threads = blas_threads()
        if not threads or max(threads) < 2:
            pytest.skip("no BLAS here that runs more than one thread")
        yield threads


@pytest.fixture
def embedded_store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    store = EmbeddedStore(tmp_path / "store")
    yield store
    store.close()


@pytest.fixture
def hashing_service(embedded_store: EmbeddedStore, tmp_path: Path) -> PactmatchService:
    return PactmatchService(
        embedded_store, encoder="hashing", cache=EmbeddingCache(tmp_path / "cache.sqlite")
    )


#: Four small organisations with offers/wants in their descriptions, for the event tests.
EVENT_ORGS = [
    {"org_id": "u1", "name": "University of Ghent", "stakeholder_type": "higher_education", "country": "BE",
     "description": "Research and training in battery recycling"},
    {"org_id": "s1", "name": "Recycling SME", "stakeholder_type": "sme", "country": "BE",
     "description": "Battery recycling plant hiring technicians"},
    {"org_id": "v1", "name": "VET college", "stakeholder_type": "vet_provider", "country": "NL",
     "description": "Vocational training in recycling and welding"},
    {"org_id": "s2", "name": "Welding SME", "stakeholder_type": "sme", "country": "DE",
     "description": "Welding of steel structures, looking for apprentices"},
]  # fmt: skip
