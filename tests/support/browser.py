"""Headless Chromium for the browser tests: finding it, starting it, and saving screenshots.

The browser is the system's Chromium (Debian's ``chromium`` package, or the program named by
``A12_CHROMIUM``) driven by the Python package ``playwright``; Playwright's own browser download is
never used. Where either is missing the tests are skipped with the reason, unless
``A12_REQUIRE_BROWSER`` is set (CI sets it), which turns the skip into a failure.
"""

import os
import re
import shutil
from pathlib import Path

import pytest

# As root, on a machine whose network is closed: no sandbox, no GPU, no calls home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
VIEWPORT = {"width": 1400, "height": 900}


def find_chromium() -> str | None:
    """The Chromium program: ``$A12_CHROMIUM``, else ``chromium`` or ``chromium-browser`` on PATH."""
    named = os.environ.get("A12_CHROMIUM")
    if named:
        return named if Path(named).is_file() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def missing_requirements() -> list[str]:
    """Why the browser tests cannot run here (empty when they can)."""
    missing = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the Python package playwright is not installed (pip install -e '.[test]')")
    if os.environ.get("A12_CHROMIUM") and not find_chromium():
        missing.append(f"A12_CHROMIUM={os.environ['A12_CHROMIUM']} is not a file")
    elif not find_chromium():
        missing.append("no Chromium found (apt-get install chromium, or set A12_CHROMIUM to the program)")
    return missing


def require_browser() -> str:
    """The Chromium program; skip the test with the reason if it cannot run (fail if required)."""
    missing = missing_requirements()
    if missing:
        reason = "browser test cannot run: " + "; ".join(missing)
        if os.environ.get("A12_REQUIRE_BROWSER"):
            pytest.fail(reason + " (A12_REQUIRE_BROWSER is set, so this is a failure, not a skip)")
        pytest.skip(reason)
    return find_chromium()


def artifacts_folder(root: Path) -> Path:
    """Where screenshots go: ``$A12_ARTIFACTS`` or ``<repo>/test-artifacts`` (ignored by git)."""
    return Path(os.environ.get("A12_ARTIFACTS") or root / "test-artifacts")


class Screenshots:
    """Numbered screenshots of one test in ``folder``: ``01-notebook-opened.png``, …"""

    def __init__(self, folder: Path):
        self.folder = folder
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        self.count = 0

    def take(self, page, name: str) -> Path:
        """Save what the page shows now (the browser window, as a person sees it)."""
        self.count += 1
        path = self.folder / f"{self.count:02d}-{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}.png"
        page.screenshot(path=str(path))
        return path
