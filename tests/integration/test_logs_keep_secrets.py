"""A full run of `patronage serve` with every log line on (DEBUG, JSON, access lines),
through sign-up, verification, login, a wrong password, a password change, a reset
request, a card purchase and a signed media URL: the logs hold none of the secrets
that passed through."""

from __future__ import annotations

import email
import email.policy
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx

from tests.integration.conftest import free_port
from tests.integration.servers import BIN, demo_platform, server_env, wait_until_up

PASSWORD = "a long and unusual passphrase 7Q"
NEW_PASSWORD = "another long passphrase, 9W and more"
CARD = "4242424242424242"
TOKEN = re.compile(r"token=([A-Za-z0-9_\-.~%]+)")


def mailed_tokens(outbox: Path) -> list[str]:
    found = []
    for path in sorted(outbox.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        found += TOKEN.findall(str(body.get_content()) if body else "")
    return found


def test_the_logs_of_a_full_run_hold_no_secret(tmp_path: Path) -> None:
    port = free_port()
    env = server_env(tmp_path / "var", port, PATRONAGE_LOG_LEVEL="DEBUG",
                     PATRONAGE_LOG_FORMAT="json", PATRONAGE_ACCESS_LOG="true")
    owner_email, owner_password = demo_platform(env)
    base = env["PATRONAGE_PUBLIC_URL"]
    log_path = tmp_path / "serve.log"
    secrets: list[str] = [PASSWORD, NEW_PASSWORD, CARD, owner_password]
    with log_path.open("wb") as log:
        server = subprocess.Popen([str(BIN / "patronage"), "serve"], env=env, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until_up(base, server)
            with httpx.Client(base_url=base, timeout=30) as http:
                assert http.post("/api/v1/auth/register", json={
                    "email": "fan@example.com", "password": PASSWORD,
                    "full_name": "Fan"}).status_code in (201, 202)
                time.sleep(1)  # the verification email goes out in the background
                outbox = tmp_path / "var" / "outbox"
                (verification,) = mailed_tokens(outbox)
                assert http.post("/api/v1/auth/verify-email",
                                 json={"token": verification}).status_code in (200, 204)
                assert http.post("/api/v1/auth/login", json={
                    "email": "fan@example.com", "password": PASSWORD + "x"}).status_code == 401
                login = http.post("/api/v1/auth/login", json={
                    "email": "fan@example.com", "password": PASSWORD})
                assert login.status_code == 200, login.text
                bearer = login.json()["token"]
                fan = {"Authorization": f"Bearer {bearer}"}
                items = http.get("/api/v1/content?limit=50").json()["items"]
                for_sale = next(i for i in items if i["price"])
                bought = http.post("/api/v1/purchases", headers=fan, json={
                    "content_id": for_sale["id"], "payment_method": CARD})
                assert bought.status_code == 201, bought.text
                owner = http.post("/api/v1/auth/login", json={
                    "email": owner_email, "password": owner_password}).json()["token"]
                video = next(i for i in items if i["content_type"] == "video")
                played = http.post(f"/api/v1/content/{video['id']}/playback",
                                   headers={"Authorization": f"Bearer {owner}"})
                assert played.status_code == 200, played.text
                signed = played.json()["url"]
                http.get(signed)
                assert http.post("/api/v1/me/password", headers=fan, json={
                    "current_password": PASSWORD,
                    "new_password": NEW_PASSWORD}).status_code in (200, 204)
                assert http.post("/api/v1/auth/password-reset/request",
                                 json={"email": "fan@example.com"}).status_code in (200, 202)
                time.sleep(1)
                mailed = mailed_tokens(outbox)
                assert len(mailed) == 2
                secrets += [bearer, owner, *mailed, signed.rsplit("/", 1)[-1]]
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(30)
    text = log_path.read_text()
    # The run was logged (so the absence below means something).
    assert text.count('"logger": "patronage.access"') >= 10, text[-2000:]
    for secret in secrets:
        assert secret not in text, f"a secret reached the logs: {secret[:6]}…"
    assert "$argon2" not in text
