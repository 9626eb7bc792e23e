"""Browser tests: Debian's Chromium, driven by Playwright's sync API, against Django's live server.

Every test here is marked `e2e` and runs on a transactional database (the live server answers
from its own thread and its own connection). Screenshots go to one temporary folder per run,
or to E2E_SHOTS_DIR; its path is printed at the end of the run.
"""

import os
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.e2e.browser import LAPTOP, PHONE, Shoot

CHROMIUM = "/usr/bin/chromium"
# Without the networking flags Chromium keeps trying to reach hosts this network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
_shots_key = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    # pytest-base-url (pulled in by pytest-playwright) defines a fixture in a way pytest 9
    # deprecates; nothing to do on our side.
    config.addinivalue_line(
        "filterwarnings", "ignore:Session-scoped fixtures defined as instance methods"
    )


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "viewport": LAPTOP, "locale": "en-US"}


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    # Settings are process-wide, so the live server thread hashes quickly too.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def shots_dir(request: pytest.FixtureRequest) -> Path:
    path = Path(os.environ.get("E2E_SHOTS_DIR") or tempfile.mkdtemp(prefix="clientele-shots-"))
    path.mkdir(parents=True, exist_ok=True)
    request.config.stash[_shots_key] = path
    return path


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    if _shots_key in config.stash:
        terminalreporter.write_line(f"e2e screenshots: {config.stash[_shots_key]}")


def _assert_styled(page: Page) -> None:
    """Bootstrap and app.css are loaded and applied: a screenshot of unstyled HTML is useless."""
    loaded = page.evaluate(
        """() => [...document.styleSheets]
            .filter(s => s.href && s.cssRules.length > 0)
            .map(s => new URL(s.href).pathname)"""
    )
    assert "/static/css/app.css" in loaded, loaded
    assert "/static/vendor/bootstrap/bootstrap.min.css" in loaded, loaded


@pytest.fixture
def shoot(shots_dir: Path) -> Shoot:
    """`shoot(page, "team")` saves `<lang>-team-laptop.png` and `<lang>-team-phone.png`.

    `sizes=("phone",)` keeps the current state (an open menu, a dialog) at one size only.
    """

    def take(page: Page, name: str, *, sizes: tuple[str, ...] = ("laptop", "phone")) -> None:
        page.wait_for_load_state("load")
        _assert_styled(page)
        lang = page.evaluate("document.documentElement.lang") or "xx"
        original = page.viewport_size
        for size in sizes:
            if len(sizes) > 1:
                page.set_viewport_size(LAPTOP if size == "laptop" else PHONE)
            page.evaluate("document.fonts.ready.then(() => true)")
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{name} is {overflow}px wider than the {size} screen"
            page.screenshot(
                path=shots_dir / f"{lang}-{name}-{size}.png", full_page=True, animations="disabled"
            )
        if original and page.viewport_size != original:
            page.set_viewport_size(original)

    return take
