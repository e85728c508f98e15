"""Headless Chromium signs in to a real `leadpool serve` over a simulated day and reads pages."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from connector.store.engine import open_engine
from connector.store.tables import assignments, leads
from tests.dashboard.conftest import ENV, PASSWORD, dashboard_config

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
LEADPOOL = [sys.executable, "-m", "connector.cli"]

pytestmark = pytest.mark.slow


def _need_browser() -> None:
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return
    message = f"{CHROMIUM} or {CHROMEDRIVER} missing (apt-get install chromium chromium-driver)"
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The last simulated weekday in a SQLite store, served by `leadpool serve`."""
    _need_browser()
    config_dir = dashboard_config(tmp_path)
    store = f"sqlite:///{tmp_path / 'sim.db'}"
    env = {**os.environ, **ENV, "PYTHONUNBUFFERED": "1"}
    env.pop("LEADPOOL_STORE_URL", None)
    day = datetime.now(UTC).date() - timedelta(days=1)
    while day.weekday() >= 5:  # the example's reps work Monday to Friday
        day -= timedelta(days=1)
    subprocess.run(
        [*LEADPOOL, "simulate", "--config", str(config_dir), "--count", "80",
         "--day", day.isoformat(), "--store", store],
        check=True, env=env, cwd=ROOT, capture_output=True, timeout=240,
    )  # fmt: skip
    port = _free_port()
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(
        [*LEADPOOL, "serve", "--config", str(config_dir), "--store", store, "--port", str(port),
         "--no-worker"],
        env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        _wait_listening(port, proc)
        yield f"http://127.0.0.1:{port}", store
    finally:
        proc.kill()
        proc.wait(timeout=30)
        log.close()


def _wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            raise AssertionError(f"leadpool serve exited with {proc.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError("leadpool serve did not start listening")


def _store_figures(store: str) -> dict[str, int]:
    engine = open_engine(store)
    try:
        with engine.connect() as conn:
            total = conn.scalar(select(func.count()).select_from(leads))
            by_source = dict(
                conn.execute(
                    select(assignments.c.source, func.count()).group_by(assignments.c.source)
                ).all()
            )
            claims = dict(
                conn.execute(
                    select(assignments.c.rep, func.count())
                    .where(assignments.c.source == "pull")
                    .group_by(assignments.c.rep)
                ).all()
            )
    finally:
        engine.dispose()
    return {"total": int(total or 0), **{f"source:{k}": v for k, v in by_source.items()},
            **{f"claims:{k}": v for k, v in claims.items()}}  # fmt: skip


def test_dashboard_in_chromium(server: tuple[str, str], tmp_path: Path) -> None:
    from selenium import webdriver
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    base, store = server
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium'}", "--window-size=1400,2600",
    ):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        # A form post replaces the page: an element found just before may go stale.
        wait = WebDriverWait(
            driver,
            30,
            ignored_exceptions=(NoSuchElementException, StaleElementReferenceException),
        )
        driver.get(f"{base}/dashboard/")
        assert "/dashboard/login" in driver.current_url
        driver.find_element(By.ID, "username").send_keys("olga")
        driver.find_element(By.ID, "password").send_keys("not the password")
        driver.find_element(By.ID, "sign-in").click()
        error = wait.until(lambda d: d.find_element(By.ID, "login-error").text)
        assert "Wrong user name or password" in error
        wait.until(lambda d: d.find_element(By.ID, "username").get_attribute("value") == "")
        driver.find_element(By.ID, "username").send_keys("olga")
        driver.find_element(By.ID, "password").send_keys(PASSWORD)
        driver.find_element(By.ID, "sign-in").click()
        wait.until(
            lambda d: (
                "/dashboard/login" not in d.current_url
                and d.find_element(By.TAG_NAME, "body").get_attribute("data-ready")
            )
        )
        expected = _store_figures(store)
        shown = int(driver.find_element(By.CSS_SELECTOR, '[data-figure="leads-total"]').text)
        assert shown == expected["total"] > 0
        for row in driver.find_elements(By.CSS_SELECTOR, "#sources tbody tr"):
            source = row.get_attribute("data-source")
            held = row.find_element(By.CSS_SELECTOR, '[data-figure="held"]').text
            assert int(held) == expected[f"source:{source}"], source
        claims_seen = 0
        for row in driver.find_elements(By.CSS_SELECTOR, "#reps tbody tr"):
            rep = row.get_attribute("data-rep")
            claims = int(row.find_element(By.CSS_SELECTOR, '[data-figure="claims"]').text)
            assert claims == expected.get(f"claims:{rep}", 0), rep
            claims_seen += claims
        assert claims_seen > 0
        drawn = driver.find_elements(By.CSS_SELECTOR, "canvas[data-drawn='1']")
        assert len(drawn) == 6
        # Charts have data: at least one speed chart has plotted points.
        points = driver.execute_script(
            "return document.getElementById('chart-speed-contact').chart.data.datasets[0]"
            ".data.filter(function (v) { return v !== null; }).length"
        )
        assert points > 0
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "dashboard.png"))
        link = driver.find_element(By.CSS_SELECTOR, "a.lead-link")
        lead_id = link.text
        link.click()
        wait.until(lambda d: d.find_element(By.ID, "lead-id").text == lead_id)
        assert driver.find_element(By.ID, "lead-id").text == lead_id
        rows = driver.find_elements(By.CSS_SELECTOR, "#timeline tbody tr")
        assert len(rows) >= 3
        assert "received" in driver.find_element(By.ID, "timeline").text
        driver.save_screenshot(str(ARTIFACTS / "dashboard-timeline.png"))
    finally:
        driver.quit()
