"""report.html of a real run (debug=tiny, with plots) in headless Chromium, driven by Selenium and chromedriver.

Checks: no console error, every ``<img>`` loaded (``naturalWidth > 0``), the recommendation and a ranking row per
strategy are there, the page fits a phone's width (tables scroll inside it), print media keeps each figure within a
page and the PDF has a page per section; full-page screenshots go to a tmp path and, when ``GPU_RISK_SCREENSHOT_DIR``
is set, there too. Uses Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them). Without them the
test skips, unless ``CI`` is set: then it fails.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

SECTIONS = ["recommendation", "ranking", "risk", "drivers", "assumptions", "strategies", "reproducibility"]
ROOT = Path(__file__).parents[2]  # the checkout under test (its simulator/ first on sys.path)
PRINT_PAGE_CSS_PX = 1000  # a Letter or A4 page is ~1050 CSS px tall at 96 dpi: a figure taller than this is cut


def _binaries() -> tuple[str, str]:
    """The Chromium and chromedriver executables; skip (fail under CI) when either, or Selenium, is missing."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    missing = [name for name, path in (("chromium", chromium), ("chromedriver", driver)) if path is None]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package (pip install -e '.[test]')")
    if missing:
        reason = f"no headless browser: {', '.join(missing)} not found (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set, so the browser test must run: {reason}")
        pytest.skip(reason)
    return chromium, driver


@pytest.fixture(scope="module")
def browser():
    chromium, driver_path = _binaries()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,900"):
        options.add_argument(arg)  # --no-sandbox: CI runs as root
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A real run with every output (as tests/e2e/test_cli.py makes one), of this checkout's code."""
    out = tmp_path_factory.mktemp("browser") / "run"
    result = subprocess.run([sys.executable, "-m", "simulator", "scenario=hybrid", "debug=tiny", "report.plots=true",
                             f"hydra.run.dir={out}"], env={**os.environ, "MPLBACKEND": "Agg"}, cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (out / "report.html").is_file() and (out / "results.nc").is_file()
    return out


def _screenshot(driver, path: Path) -> Path:
    """A full-page PNG (the whole document, not the viewport), also copied to ``$GPU_RISK_SCREENSHOT_DIR``."""
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": {
        "x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}})
    path.write_bytes(base64.b64decode(shot["data"]))
    if os.environ.get("GPU_RISK_SCREENSHOT_DIR"):
        target = Path(os.environ["GPU_RISK_SCREENSHOT_DIR"])
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target / path.name)
    return path


def _open(driver, run_dir: Path, *, width: int, mobile: bool = False) -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": mobile})
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "screen"})
    driver.get((run_dir / "report.html").as_uri())
    driver.get_log("browser")  # drop what an earlier page logged; the caller reads this page's


def test_report_renders_in_chromium(browser, run_dir, tmp_path):
    _open(browser, run_dir, width=1280)
    errors = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
    assert not errors, errors
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth, i.src.slice(0, 22)])")
    pngs = sorted(run_dir.glob("*.png"))
    assert len(images) == len(pngs) >= 8
    assert all(complete and width > 0 and src == "data:image/png;base64," for _, complete, width, src in images), images
    text = browser.find_element("tag name", "body").text
    best = pd.read_csv(run_dir / "recommendation.csv")["best"].iloc[0]
    assert f"Recommended: {best}" in text and "Margin over" in text and "P(best on a path)" in text
    strategies = list(pd.read_csv(run_dir / "summary.csv", index_col="strategy").index)
    rows = browser.find_elements("css selector", "#ranking-table tbody tr")
    names = [r.get_attribute("data-strategy") for r in rows]
    assert len(names) == len(strategies) and sorted(names) == sorted(strategies) and names[0] == best
    found = browser.execute_script("return Array.from(document.querySelectorAll('main > section')).map(s => s.id)")
    assert found == SECTIONS
    assert f"python -m simulator rerun {run_dir}" in text
    assert len(browser.find_elements("css selector", "#priors-table tbody tr")) > 50  # every effective prior
    assert _screenshot(browser, tmp_path / "report_desktop.png").stat().st_size > 50_000


def test_report_fits_a_phone(browser, run_dir, tmp_path):
    _open(browser, run_dir, width=390, mobile=True)
    page_width, view_width = browser.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert page_width <= view_width, "the page scrolls sideways on a phone: something is wider than the screen"
    wide = browser.execute_script("""return Array.from(document.querySelectorAll('table')).filter(
        t => t.getBoundingClientRect().width > document.documentElement.clientWidth).length""")
    assert wide > 0  # the ranking is wider than a phone, so its wrapper scrolls (the page itself does not)
    widths = browser.execute_script("return Array.from(document.images).map(i => i.getBoundingClientRect().width)")
    assert max(widths) <= view_width
    _screenshot(browser, tmp_path / "report_phone.png")


def test_report_prints_without_cut_figures(browser, run_dir):
    _open(browser, run_dir, width=800)
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    heights = browser.execute_script(
        "return Array.from(document.querySelectorAll('figure')).map(f => f.getBoundingClientRect().height)")
    assert heights and max(heights) < PRINT_PAGE_CSS_PX, heights
    overflowing = browser.execute_script("""return Array.from(document.querySelectorAll('table, figure')).filter(
        t => t.getBoundingClientRect().right > document.documentElement.clientWidth + 1).length""")
    assert overflowing == 0  # on paper nothing scrolls: every table and figure fits the page's width
    pdf = base64.b64decode(browser.execute_cdp_cmd("Page.printToPDF", {"printBackground": True})["data"])
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b", pdf)) >= len(SECTIONS)
