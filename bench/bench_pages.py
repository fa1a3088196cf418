"""Benchmark: server time of each main page on a full CORDIS import (issue 18).

Target: p95 ≤ 300 ms per page on this 2-core machine, and the candidate page ≤ the API's candidate
time + 100 ms. The baseline in the same run is the API's own answer for the same candidate
searches (what the page adds is filters, grouping reasons and the template).

Pages are requested in-process through the whole ASGI stack (middleware, sign-in cookie, CSRF,
templates), so the time is the server's, without a network. Each page kind is timed over a sample
of different partnerships, organisations, regions and filters, after one warm-up request.

The store is ``--store`` (an embedded store holding a CORDIS import, e.g. one made by
``pactmatch import-cordis``; the bench adds a user ``bench-admin`` and an event to it) or, when
none is given, a fresh import of ``../shared/data/consortia`` into a temporary folder with the
hashing encoder. The dashboard needs a gap report over every partnership: the bench starts one
from the reports page as support staff would and waits for it (its time is printed too; skip it
with ``--no-dashboard``). Jobs are kept in the store, so a later run on the same ``--store`` reuses
the report unless ``--new-report``.

    .venv/bin/python bench/bench_pages.py [--store DIR] [--samples 30] [--no-dashboard] [--new-report]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from domain.accounts import Actor, Grant, Role
from pactmatch.importers import read_cordis
from pactmatch.settings import Settings

PASSWORD = "bench-password-1"
TARGET_MS = 300.0
CANDIDATE_MARGIN_MS = 100.0


def timed(client: TestClient, url: str) -> float:
    """Milliseconds to answer ``GET url``; a page that does not answer 200 stops the bench."""
    t0 = time.perf_counter()
    response = client.get(url)
    elapsed = 1000 * (time.perf_counter() - t0)
    if response.status_code != 200:
        raise SystemExit(f"GET {url} answered {response.status_code}: {response.text[:300]}")
    return elapsed


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1] if len(values) > 1 else values[0]


def measure(client: TestClient, urls: list[str]) -> list[float]:
    timed(client, urls[0])  # warm-up: first-use caches (templates, snapshot) are not a page's cost
    return [timed(client, url) for url in urls]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", type=Path, default=None, help="an embedded store with a CORDIS import")
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/consortia"
    )
    parser.add_argument("--encoder", default="hashing")
    parser.add_argument("--samples", type=int, default=30, help="requests per page kind")
    parser.add_argument("--no-dashboard", action="store_true", help="skip the gap report the dashboard needs")
    parser.add_argument(
        "--new-report", action="store_true", help="make a new gap report even if the store keeps one"
    )
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args()
    print(f"cpu cores visible: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")

    with tempfile.TemporaryDirectory(prefix="pactmatch-bench-pages-") as tmp:
        store = args.store or Path(tmp) / "store"
        app = create_app(Settings(store=str(store), encoder=args.encoder, cache_dir=Path(tmp) / "cache"))
        with TestClient(app) as api_client:
            service, accounts = app.state.service, app.state.accounts
            setup = Actor.cli("bench")
            if args.store is None:
                t0 = time.perf_counter()
                batch = read_cordis(args.data / "projects.csv", args.data / "participants.csv")
                service.import_batch(batch, "CORDIS consortia", actor=setup)
                print(f"import: {time.perf_counter() - t0:.0f} s")
            counts = service.store.counts()
            print(
                f"store: {counts.organisations:,} organisations, {counts.partnerships:,} partnerships, "
                f"{counts.memberships:,} memberships"
            )
            if accounts.store.get_user("bench-admin") is None:
                accounts.add_user("bench-admin", PASSWORD, [Grant(role=Role.ADMIN)], setup)
            key = accounts.create_key("bench-admin", "bench", setup)[1]
            api_client.headers["Authorization"] = f"Bearer {key}"
            browser = TestClient(app)
            signed = browser.post("/auth/login", json={"name": "bench-admin", "password": PASSWORD})
            assert signed.status_code == 200, signed.text
            run(app, api_client, browser, args)


def run(app: object, api: TestClient, browser: TestClient, args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    n = args.samples
    service = app.state.service  # type: ignore[attr-defined]
    snapshot = service.snapshot()
    pids = rng.sample(list(snapshot.partnership_ids), n)
    org_ids = rng.sample(list(snapshot.org_ids), n)
    codes = ["DE1", "FR10", "ITC4", "ES51", "NL36", "BE10", "PL91", "SE11", "AT13", "DK01", "FI1B", "EL30",
             "PT1A", "IE06", "CZ01", "DE", "FR", "IT", "ES", "DE21", "DE30", "FRK2", "ITH5", "NL41", "BE24",
             "DEA2", "ES30", "UKI3", "SE23", "FRL0"]  # fmt: skip
    words = ["energy", "health", "battery", "digital", "water", "robot", "food", "textile", "space", "skills"]
    filters = [
        "", "&type=vet_provider", "&type=sme", "&country=DE", "&region=FR10", "&type=research_organisation&country=IT",
        "&sme=true", "&region=DE1&type=higher_education",
    ]  # fmt: skip
    searches = [(pid, filters[i % len(filters)]) for i, pid in enumerate(pids)]
    results: dict[str, list[float]] = {}

    def page(name: str, urls: list[str]) -> None:
        results[name] = measure(browser, urls)
        print(
            f"  {name:<34} p50 {statistics.median(results[name]):6.0f} ms   p95 {p95(results[name]):6.0f} ms"
        )

    print(f"pages ({n} requests each, signed in as support staff):")
    page("home /app", ["/app"] * n)
    page("partnerships (list, search)", [f"/app/partnerships?q={words[i % len(words)]}" for i in range(n)])
    page("partnerships (list, page k)", [f"/app/partnerships?offset={50 * i}" for i in range(n)])
    page("partnership", [f"/app/partnerships/{p}" for p in pids])
    page("candidates (find partners)", [f"/app/partnerships/{p}/candidates?top_k=20{f}" for p, f in searches])
    api_times = measure(api, [f"/partnerships/{p}/candidates?top_k=20{f}" for p, f in searches])
    print(
        f"  {'API GET …/candidates (baseline)':<34} p50 {statistics.median(api_times):6.0f} ms   p95 {p95(api_times):6.0f} ms"
    )
    page("synergies of a partnership", [f"/app/partnerships/{p}/synergies" for p in pids])
    page("organisation profile", [f"/app/organisations/{o}" for o in org_ids])
    join = ["", "?kind=other", "?country=DE", "?region=FR10&kind=other"]
    page(
        "partnerships to join",
        [f"/app/organisations/{o}/partnerships{join[i % len(join)]}" for i, o in enumerate(org_ids)],
    )
    for p, o in zip(pids, org_ids, strict=True):  # an entry each, so that every shortlist shows one
        api.put(f"/partnerships/{p}/shortlist/{o}", json={"note": "bench"})
    page("shortlist", [f"/app/partnerships/{p}/shortlist" for p in pids])
    page("regions (picker)", ["/app/regions"] * n)
    page("region", [f"/app/regions/{codes[i % len(codes)]}" for i in range(n)])
    page("reports", ["/app/reports"] * n)
    page("events", ["/app/events"] * n)
    event_pages(api, browser, page, n)
    if not args.no_dashboard:
        dashboard(browser, page, n, args.new_report)

    print("targets:")
    for name, values in results.items():
        verdict = "PASS" if p95(values) <= TARGET_MS else "FAIL"
        print(f"  {name:<34} p95 {p95(values):6.0f} ms ≤ {TARGET_MS:.0f} ms → {verdict}")
    extra = p95(results["candidates (find partners)"]) - p95(api_times)
    verdict = "PASS" if extra <= CANDIDATE_MARGIN_MS else "FAIL"
    print(
        f"  candidate page − API candidates (p95): {extra:+.0f} ms ≤ {CANDIDATE_MARGIN_MS:.0f} ms → {verdict}"
    )


def event_pages(api: TestClient, browser: TestClient, page: Callable[[str, list[str]], None], n: int) -> None:
    """An event of 60 attendees picked from the store, scheduled; then its pages."""
    event = {
        "event_id": "bench-event", "name": "Bench brokerage", "date": "2027-05-04", "tables": 15,
        "slots": [{"start": f"{9 + i // 3:02d}:{20 * (i % 3):02d}", "duration_minutes": 20} for i in range(8)],
    }  # fmt: skip
    if api.get("/events/bench-event").status_code == 404:
        created = api.post("/events", json=event)
        assert created.status_code == 201, created.text
        picked = api.post("/events/bench-event/attendees/from-store", json={"country": "DE", "limit": 60})
        assert picked.status_code in (200, 201), picked.text
        t0 = time.perf_counter()
        scheduled = api.post("/events/bench-event/schedule", json={})
        assert scheduled.status_code in (200, 201), scheduled.text
        print(f"  (event: 60 attendees from the store, scheduled in {time.perf_counter() - t0:.1f} s)")
    page("event", ["/app/events/bench-event"] * n)
    page("schedule grid", ["/app/events/bench-event/schedule"] * n)
    page("event summary", ["/app/events/bench-event/summary"] * n)
    page("agenda links", ["/app/events/bench-event/links"] * n)
    page("event requests", ["/app/events/bench-event/requests"] * n)
    attendees = [a["attendee_id"] for a in api.get("/events/bench-event/attendees").json()["items"]]
    links = [
        api.post(f"/events/bench-event/attendees/{attendees[i % len(attendees)]}/agenda-link").json()["path"]
        for i in range(n)
    ]
    page("attendee agenda (by link)", [f"/app{path}" for path in links])
    page("attendee: people to meet", [f"/app{path}/people" for path in links])


def dashboard(browser: TestClient, page: Callable[[str, list[str]], None], n: int, new_report: bool) -> None:
    """The dashboard over the newest JSON gap report of every partnership. Jobs are kept in the
    store, so a report an earlier run made is reused (``--new-report`` to make a fresh one: it
    takes minutes on a full CORDIS store); then the dashboard's first view and its filters."""
    kept = [
        j for j in browser.get("/jobs").json()
        if j["kind"] == "gap-reports" and j["status"] == "succeeded" and j["filename"].endswith(".json")
    ]  # fmt: skip
    if kept and not new_report:
        print(
            f"  (gap report over every partnership: reusing job {kept[0]['job_id']} of {kept[0]['finished_at']})"
        )
    else:
        browser.get("/app/reports")
        t0 = time.perf_counter()
        started = browser.post(
            "/app/reports", data={"kind": "gaps", "format": "json", "csrftoken": browser.cookies["csrftoken"]},
            follow_redirects=False,
        )  # fmt: skip
        assert started.status_code == 303, started.text
        while True:
            newest = browser.get("/jobs").json()[0]  # newest first
            if newest["status"] in ("succeeded", "failed", "cancelled"):
                break
            time.sleep(5)
        assert newest["status"] == "succeeded", newest
        print(f"  (gap report over every partnership, JSON: {time.perf_counter() - t0:.0f} s)")
    t0 = time.perf_counter()
    timed(browser, "/app/dashboard")
    print(f"  (dashboard, first view: the report parsed once, {1000 * (time.perf_counter() - t0):.0f} ms)")
    kinds = ["", "kind=other", "kind=regional", "ecosystem=digital", "country=DE", "country=FR&kind=other",
             "sort=name", "sort=-members", "offset=500", "ecosystem=health&country=IT"]  # fmt: skip
    page("dashboard", [f"/app/dashboard?{kinds[i % len(kinds)]}" for i in range(n)])


if __name__ == "__main__":
    main()
