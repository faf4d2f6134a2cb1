"""The status page as a person sees it: Debian's chromium, headless, driven by Selenium through
Debian's chromium-driver (given by path: Selenium's driver manager never downloads one), looking at
`/` of a real agent (`reconciler run`) on the real engine: a converged host, a failed replacement,
an invalid file; and a pending plan, rendered from a status snapshot that holds one (the agent
holds no pending plan yet). Each situation leaves a screenshot in `$RECONCILER_ARTIFACTS/status-page`
(else under pytest's tmp path); their paths are printed. `scripts/browser.sh install` installs the
browser and the driver."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from reconciler.agent.status import ResourceReport, Status
from reconciler.desired.problems import Problem
from reconciler.statuspage import render
from tests.integration.agents import eventually, service

pytestmark = pytest.mark.integration

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
EXITS = 'command = ["sh", "-c", "sleep 0.3; exit 3"]\n'


@pytest.fixture(scope="module")
def browser():
    """One headless chromium for the module, a desktop-sized window."""
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        message = "no chromium and chromium-driver: run `scripts/browser.sh install`"
        if os.environ.get("RECONCILER_REQUIRE_ENGINE"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    options = Options()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,1400"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    folder = os.environ.get("RECONCILER_ARTIFACTS")
    root = Path(folder) / "status-page" if folder else tmp_path_factory.mktemp("status-page")
    root.mkdir(parents=True, exist_ok=True)
    return root


def look(browser, url: str, artifacts: Path, situation: str) -> None:
    """Open `url` and keep a screenshot of it as `situation`.png."""
    browser.get(url)
    shot = artifacts / f"{situation}.png"
    browser.save_screenshot(str(shot))
    print(f"screenshot: {shot}")


def section(browser, name: str) -> str:
    """The text a person reads in the section `name` ("" when the page has none)."""
    found = browser.find_elements(By.ID, name)
    return found[0].text if found else ""


@pytest.fixture
def canaries(tmp_path) -> tuple[str, str, Path]:
    """(a secret file's content, an env file value, the env file): what the page must never show."""
    secret, token = f"canary-{uuid.uuid4().hex}", f"envcanary-{uuid.uuid4().hex}"
    (tmp_path / "db.secret").write_text(secret)
    (tmp_path / "env").write_text(f"TOKEN={token}\n")
    return secret, token, tmp_path / "env"


def with_secrets(name: str, secret_file: Path) -> str:
    """A service given a secret from a file and an env value from the env file."""
    return (f'[secret.db]\nfile = "{secret_file}"\n\n'
            + service(name).replace('GREETING = "hello"', 'GREETING = "hello", API_TOKEN = "${TOKEN}"')
            + 'secrets = ["db"]\n')


def test_a_converged_host_shows_every_resource_converged_and_no_secret(
        browser, artifacts, desired, names, start_agent, canaries, tmp_path):
    secret, token, env = canaries
    web, db = names("web"), names("db")
    (desired / "web.toml").write_text(with_secrets(web, tmp_path / "db.secret"))
    (desired / "db.toml").write_text(service(db))
    agent = start_agent(extra=("--env-file", str(env)))
    agent.wait_converged(web, db)
    look(browser, f"http://127.0.0.1:{agent.port}/", artifacts, "converged")
    assert browser.title.startswith("OK")
    assert section(browser, "counts") == "Resources\n2 converged"
    assert f"container/{web} converged" in section(browser, "resources")
    assert "converged" in section(browser, "timeline")
    assert not section(browser, "attention") and not section(browser, "errors")
    assert secret not in browser.page_source and token not in browser.page_source


def test_the_converged_page_fits_a_phone_screen(browser, artifacts, desired, names, start_agent):
    (desired / "web.toml").write_text(service(names("web")))
    agent = start_agent()
    agent.wait_converged(names("web"))
    browser.set_window_size(390, 844)
    try:
        look(browser, f"http://127.0.0.1:{agent.port}/", artifacts, "converged-phone")
        overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    finally:
        browser.set_window_size(1280, 1400)
    assert overflow <= 0


def test_a_long_unbreakable_error_wraps_within_a_phone_screen(browser, artifacts, tmp_path):
    container_id = "4f1c" * 16  # Docker's errors quote 64-hex ids, with no place to break a line
    error = f"Error response from daemon: conflict: unable to remove container {container_id}: in use"
    status = Status("prod", str(tmp_path / "desired"), interval=30)
    status.set_resources([ResourceReport("container", "web", "failed", f"replacing container web failed: {error}")])
    status.set_errors([Problem("/srv/desired/" + "w" * 80 + ".toml", 3, f"container.{container_id}.image",
                               "required")])
    status.record_pass("failed", 0.4, {"actions": 1, "failures": 1}, error=error)
    page = artifacts / "long-error.html"
    page.write_text(render(status.snapshot(), now=time.time()))
    browser.set_window_size(390, 844)
    try:
        look(browser, page.as_uri(), artifacts, "long-error-phone")
        overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    finally:
        browser.set_window_size(1280, 1400)
    assert container_id in section(browser, "attention").replace("\n", "")
    assert overflow <= 0


def test_a_failed_replacement_shows_the_rollback_and_its_reason(browser, artifacts, desired, names, start_agent):
    web = names("web")
    (desired / "web.toml").write_text(service(web))
    agent = start_agent(extra=("--interval", "1s"))
    agent.wait_converged(web)
    (desired / "web.toml").write_text(service(web, "bonjour").replace('command = ["sleep", "3600"]\n', EXITS))
    eventually(lambda: agent.status()["quarantined"], "the quarantine", timeout=60)
    look(browser, f"http://127.0.0.1:{agent.port}/", artifacts, "failed-replacement")
    assert browser.title.startswith("BAD")
    attention = section(browser, "attention")
    assert f"container/{web} failed" in attention and "running the previous container" in attention
    quarantined = section(browser, "quarantined")
    assert f"container/{web}" in quarantined and "exited with code 3" in quarantined
    assert "failed" in section(browser, "timeline")


def test_an_invalid_file_shows_its_error_at_file_and_line(browser, artifacts, desired, names, start_agent):
    web = names("web")
    (desired / "web.toml").write_text(service(web))
    agent = start_agent()
    agent.wait_converged(web)
    (desired / "web.toml").write_text(f'[container.{web}]\nimage = "localhost/demo:1"\nrestart = "sometimes"\n')
    # the status lists a file's errors as the pass reads it, and its resources once the pass ends
    eventually(lambda: agent.status()["errors"] and agent.states().get(web) == "stalled", "the error, web stalled")
    look(browser, f"http://127.0.0.1:{agent.port}/", artifacts, "invalid-file")
    assert browser.title.startswith("WARN")
    assert f"web.toml:3: container.{web}.restart" in section(browser, "errors")
    assert f"container/{web} stalled" in section(browser, "attention")


def test_a_pending_plan_shows_each_change_with_its_diff(browser, artifacts, tmp_path):
    status = Status("prod", str(tmp_path / "desired"), interval=30)
    status.set_resources([ResourceReport("container", "web", "pending", "recreate container web: spec changed")])
    status.record_pass("converged", 0.4, {"actions": 0})
    snapshot = status.snapshot()
    change = {"action": "recreate", "symbol": "~", "kind": "container", "name": "web", "source": "web.toml",
              "reasons": [{"reason": "spec_changed", "text": "spec changed: env.GREETING, image"}],
              "steps": [], "if_it_fails": [], "then": None, "blocked": None}
    snapshot["pending_plan"] = {"plan": {"schema_version": 1, "changes": [change], "has_changes": True,
                                         "runnable": 1, "blocked": [], "summary": "1 to recreate"},
                                "revision": "4f1c" * 10, "since": snapshot["updated_at"]}
    page = artifacts / "pending-plan.html"
    page.write_text(render(snapshot, now=time.time()))
    look(browser, page.as_uri(), artifacts, "pending-plan")
    shown = section(browser, "pending-plan")
    assert shown.startswith("Pending plan for 4f1c4f1c4f1c")
    assert "~ container/web recreate (web.toml)" in shown
    assert "spec changed: env.GREETING, image" in shown
