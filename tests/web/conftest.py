"""Pages in a real browser: Debian's Chromium driven by Playwright, against a live server.

One server per session, on the demo dataset (hashing encoder: no model to load), with one user
per role; each journey test signs in as a person would. Every page a test visits is checked with
axe-core (``axe-playwright-python``): no serious or critical violation. With
``PACTMATCH_SCREENSHOTS=DIR`` the tests also save screenshots of the main pages there
(``docs/screenshots`` holds the ones the README shows).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright

from api.app import create_app
from domain.accounts import Grant, Role
from graph.arcadedb_server import free_port
from pactmatch.accounts import AccountService
from pactmatch.demo import load_demo
from pactmatch.settings import Settings
from tests.conftest import TEST_ACTOR, TEST_PASSWORD

CHROMIUM = os.environ.get("PACTMATCH_CHROMIUM", "/usr/bin/chromium")
#: The flags this machine's Chromium needs: no sandbox as root, and no background networking
#: (its connections would be refused by the closed network, many at a time).
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]  # fmt: skip
COORDINATED = "demo-rsp-baden-wuerttemberg-automotive"
ORGANISATION = "demo-org-001"


@dataclass(frozen=True)
class LiveServer:
    url: str
    store: Path


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """``pactmatch serve`` on the demo data, in this process (a thread), with a user per role."""
    root = tmp_path_factory.mktemp("web")
    settings = Settings(store=str(root / "store"), encoder="hashing", cache_dir=root / "cache")
    app = create_app(settings)
    service = app.state.service
    load_demo(service, TEST_ACTOR)
    accounts: AccountService = app.state.accounts
    for name, grant in (
        ("admin", Grant(role=Role.ADMIN)),
        ("coordinator", Grant(role=Role.COORDINATOR, scope=COORDINATED)),
        ("organiser", Grant(role=Role.ORGANISER, scope="demo-brokerage-day")),
        ("member", Grant(role=Role.MEMBER, scope=ORGANISATION)),
    ):
        accounts.add_user(name, TEST_PASSWORD, [grant], TEST_ACTOR)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the test server did not start"
        time.sleep(0.05)
    yield LiveServer(f"http://127.0.0.1:{port}", root / "store")
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: bash scripts/setup.sh installs it (apt-get install chromium)"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


def sign_in(page: Page, server: LiveServer, name: str) -> None:
    page.goto(f"{server.url}/app/login")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}/app")


_axe = Axe()


def accessible(page: Page) -> None:
    """No serious or critical axe-core violation on the page as it is now."""
    result = _axe.run(page)
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes'][:3]]}"
        for v in result.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{page.url}:\n" + "\n".join(bad)


def shot(page: Page, name: str) -> None:
    """Save a full-page screenshot as ``name``.png when ``PACTMATCH_SCREENSHOTS`` names a folder."""
    folder = os.environ.get("PACTMATCH_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)
