"""The pages behind the emailed links, in a real browser against a real server.

Headless Chromium (Debian's `chromium` and `chromium-driver`, installed here when
missing) drives `patronage serve`: it follows the links from the mails the file mailer
wrote, fills the forms and reads what a person would read.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.integration.conftest import free_port
from tests.integration.servers import patronage, server_env, serving

PASSWORD = "a long and unusual passphrase"
NEW_PASSWORD = "seven quiet owls over the harbour"
PACKAGES = ["chromium", "chromium-driver"]


def browser_binaries() -> tuple[str, str]:
    """Chromium and its driver, installed from Debian's packages if they are missing."""
    found = shutil.which("chromium"), shutil.which("chromedriver")
    if not all(found):
        for command in (["apt-get", "install", "-y", "-q", *PACKAGES],
                        ["apt-get", "update", "-q"],
                        ["apt-get", "install", "-y", "-q", *PACKAGES]):
            done = subprocess.run(command, capture_output=True, text=True, timeout=900,
                                  check=False, env={**os.environ,
                                                    "DEBIAN_FRONTEND": "noninteractive"})
            found = shutil.which("chromium"), shutil.which("chromedriver")
            if all(found):
                break
        else:
            pytest.fail(f"could not install {' '.join(PACKAGES)}: {done.stderr[-2000:]}",
                        pytrace=False)
    chromium, driver = found
    assert chromium and driver
    return chromium, driver


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    chromium, driver = browser_binaries()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                 "--disable-gpu", "--window-size=900,900"):
        options.add_argument(flag)
    chrome = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    chrome.set_page_load_timeout(30)
    yield chrome
    chrome.quit()


class Server:
    def __init__(self, data: Path, base: str) -> None:
        self.data, self.base = data, base

    def mail_link(self, to: str, path: str) -> str:
        for message_file in sorted((self.data / "outbox").glob("*.eml"),
                                   key=lambda p: p.stat().st_mtime_ns, reverse=True):
            message = email.message_from_bytes(message_file.read_bytes(),
                                               policy=email.policy.default)
            body = message.get_body(preferencelist=("plain",))
            if message["To"] == to and body is not None:
                found = re.search(rf"{re.escape(self.base)}{path}\?token=\S+",
                                  body.get_content())
                if found:
                    return found.group(0)
        raise AssertionError(f"no {path} link mailed to {to}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("pages") / "var"
    env = server_env(data, free_port())
    migrated = patronage(["db", "upgrade"], env)
    assert migrated.returncode == 0, migrated.stderr
    with serving(env) as served:
        yield Server(data, served.base)


def wait_for_mail(server: Server, to: str, path: str) -> str:
    deadline = time.monotonic() + 10
    while True:
        try:
            return server.mail_link(to, path)
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def login(server: Server, address: str, password: str) -> httpx.Response:
    return httpx.post(f"{server.base}/api/v1/auth/login",
                      json={"email": address, "password": password})


def heading(browser: webdriver.Chrome) -> str:
    return str(browser.find_element(By.TAG_NAME, "h1").text)


def submit(browser: webdriver.Chrome) -> None:
    """Press the form's button and wait until the next page has replaced this one."""
    page = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    def replaced(_: object) -> bool:
        try:
            page.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as error:
            # Chrome sometimes reports the old page's node this way rather than as stale.
            if "does not belong to the document" in str(error):
                return True
            raise
        return False

    WebDriverWait(browser, 15).until(replaced)


def test_confirming_an_address_from_the_emailed_link(browser: webdriver.Chrome,
                                                     server: Server) -> None:
    address = "reader@example.com"
    registered = httpx.post(f"{server.base}/api/v1/auth/register", json={
        "email": address, "password": PASSWORD, "full_name": "Reader"})
    assert registered.status_code == 202
    link = wait_for_mail(server, address, "/verify-email")

    browser.get(link)
    assert heading(browser) == "Confirm your email address"
    # Opening the link changed nothing: a mail scanner that follows it spends nothing.
    token = login(server, address, PASSWORD).json()["token"]
    me = httpx.get(f"{server.base}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["email_verified"] is False
    submit(browser)
    assert heading(browser) == "Your address is confirmed"
    me = httpx.get(f"{server.base}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["email_verified"] is True

    browser.get(link)  # the same link again: spent
    submit(browser)
    assert heading(browser) == "This link did not work"


def test_resetting_a_forgotten_password_in_the_browser(browser: webdriver.Chrome,
                                                       server: Server) -> None:
    address = "forgetful@example.com"
    httpx.post(f"{server.base}/api/v1/auth/register", json={
        "email": address, "password": PASSWORD, "full_name": "Forgetful"})

    browser.get(f"{server.base}/forgot-password")
    assert heading(browser) == "Reset your password"
    field = browser.find_element(By.ID, "email")
    label = browser.find_element(By.CSS_SELECTOR, "label[for=email]")
    assert label.text == "Email address" and field.get_attribute("autocomplete") == "email"
    field.send_keys(address)
    submit(browser)
    assert heading(browser) == "Check your inbox"
    assert not browser.find_elements(By.TAG_NAME, "script")

    browser.get(wait_for_mail(server, address, "/reset-password"))
    assert heading(browser) == "Choose a new password"
    browser.find_element(By.ID, "new_password").send_keys("password1")
    submit(browser)
    alert = browser.find_element(By.CSS_SELECTOR, "[role=alert]")
    assert "harder to guess" in alert.text
    browser.find_element(By.ID, "new_password").send_keys(NEW_PASSWORD)
    submit(browser)
    assert heading(browser) == "Your password is changed"

    assert login(server, address, NEW_PASSWORD).status_code == 200
    assert login(server, address, PASSWORD).status_code == 401


def test_a_form_posted_without_its_csrf_token_is_refused(server: Server) -> None:
    # A page on another site can post to ours, but cannot read the token or set the cookie.
    forged = httpx.post(f"{server.base}/forgot-password",
                        data={"email": "victim@example.com"})
    assert forged.status_code == 403
    page = httpx.get(f"{server.base}/forgot-password")
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert "<script" not in page.text and 'lang="en"' in page.text


def test_the_docs_ui_renders_with_nothing_from_another_origin(browser: webdriver.Chrome,
                                                             server: Server) -> None:
    # This machine reaches no CDN, and the CSP would block one anyway: what renders
    # here came from the app.
    # Selenium leaves get_log unannotated.
    browser.get_log("browser")  # type: ignore[no-untyped-call]  # drop what earlier pages logged
    browser.get(f"{server.base}/schema/docs")
    WebDriverWait(browser, 20).until(
        lambda b: len(b.find_elements(By.CSS_SELECTOR, ".opblock")) > 20)
    assert "Patronage API" in browser.find_element(By.CSS_SELECTOR, ".title").text
    logged = browser.get_log("browser")  # type: ignore[no-untyped-call]
    errors = [entry for entry in logged if entry["level"] == "SEVERE"]
    assert errors == [], errors
