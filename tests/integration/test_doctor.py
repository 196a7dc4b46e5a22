"""`patronage doctor` against the real things: PostgreSQL, a Stripe-compatible recorder
(the webhook endpoint listing), an S3 server (moto) and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from aiosmtpd.controller import Controller
from moto.server import ThreadedMotoServer
from typer.testing import CliRunner, Result

from adapters.sqlalchemy import migrate
from adapters.stripe_payments.gateway import HANDLED_EVENTS
from entrypoints.cli.main import app
from tests.integration.conftest import Databases, free_port
from tests.integration.test_stripe_gateway import Recorded, Reply, StripeRecorder

PUBLIC = "https://shop.example.com"
S3_KEY, S3_SECRET = "doctor", "r2-s3cr3t-DOCTOR-7f3a9c"
STRIPE_KEY = "sk_live_doctor_51abcDEF"
SMTP_PASSWORD = "smtp-pa55-doctor"
SECRET_KEY = "k" * 48


class Accepting:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"


@pytest.fixture(scope="module")
def s3() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    admin = boto3.session.Session().client("s3", endpoint_url=url, aws_access_key_id=S3_KEY,
                                           aws_secret_access_key=S3_SECRET,
                                           region_name="us-east-1")
    admin.create_bucket(Bucket="private-media")
    admin.create_bucket(Bucket="public-media")
    admin.put_bucket_policy(Bucket="public-media", Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::public-media/*"}]}))
    yield url
    server.stop()


@pytest.fixture(scope="module")
def smtp() -> Iterator[int]:
    port = free_port()
    controller = Controller(Accepting(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port
    controller.stop()


def listing(events: tuple[str, ...], url: str = f"{PUBLIC}/api/v1/webhooks/stripe",
            status: str = "enabled") -> Any:
    def reply(request: Recorded) -> Reply:
        return 200, {"object": "list", "url": "/v1/webhook_endpoints", "has_more": False,
                     "data": [{"id": "we_1", "object": "webhook_endpoint", "url": url,
                               "enabled_events": list(events), "status": status}]}, {}
    return reply


@pytest.fixture
def stripe() -> Iterator[StripeRecorder]:
    server = StripeRecorder()
    server.replies["/v1/webhook_endpoints"] = listing(HANDLED_EVENTS)
    yield server
    server.close()


def production(tmp_path: Path, database: str, stripe: StripeRecorder, s3: str, smtp: int,
               **changes: str) -> dict[str, str]:
    env = {
        "PATRONAGE_DATABASE_URL": database, "PATRONAGE_DATA_DIR": str(tmp_path / "var"),
        "PATRONAGE_ENVIRONMENT": "production", "PATRONAGE_SECRET_KEY": SECRET_KEY,
        "PATRONAGE_PUBLIC_URL": PUBLIC, "PATRONAGE_PAYMENTS": "stripe",
        "PATRONAGE_STRIPE_SECRET_KEY": STRIPE_KEY,
        "PATRONAGE_STRIPE_WEBHOOK_SECRET": "whsec_doctor",
        "PATRONAGE_STRIPE_API_BASE": stripe.url, "PATRONAGE_MEDIA_STORAGE": "r2",
        "PATRONAGE_R2_ENDPOINT": s3, "PATRONAGE_R2_ACCESS_KEY_ID": S3_KEY,
        "PATRONAGE_R2_SECRET_ACCESS_KEY": S3_SECRET, "PATRONAGE_R2_BUCKET": "private-media",
        "PATRONAGE_MAILER": "smtp", "PATRONAGE_SMTP_HOST": "127.0.0.1",
        "PATRONAGE_SMTP_PORT": str(smtp), "PATRONAGE_SMTP_SECURITY": "none",
        "PATRONAGE_SMTP_USERNAME": "", "PATRONAGE_SMTP_PASSWORD": SMTP_PASSWORD,
        "COLUMNS": "400",
    }
    return env | changes


def doctor(env: dict[str, str]) -> Result:
    return CliRunner().invoke(app, ["doctor"], env=env)


def rows(output: str) -> dict[str, str]:
    """check name -> pass/FAIL, from the printed table."""
    found = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip("│┃ ").split("│")]
        if len(cells) >= 2 and cells[1] in ("pass", "FAIL"):
            found[cells[0]] = cells[1]
    return found


def assert_no_secret(output: str) -> None:
    for secret in (S3_SECRET, STRIPE_KEY, SMTP_PASSWORD, SECRET_KEY):
        assert secret not in output


def test_a_ready_production_configuration_passes_every_check(
        tmp_path: Path, databases: Databases, stripe: StripeRecorder, s3: str,
        smtp: int) -> None:
    url = databases.create()
    migrate.upgrade(url)
    result = doctor(production(tmp_path, url, stripe, s3, smtp))
    assert result.exit_code == 0, result.output
    assert rows(result.output) == {
        "database": "pass", "migrations": "pass", "environment": "pass",
        "secret key": "pass", "public URL": "pass", "stripe keys": "pass",
        "stripe webhook": "pass", "media storage": "pass", "mail": "pass"}
    assert "all 9 checks passed" in result.output
    assert_no_secret(result.output)
    listed = stripe.sent("/v1/webhook_endpoints")
    assert listed and listed[0].headers["authorization"] == f"Bearer {STRIPE_KEY}"
    # The privacy probe leaves nothing behind.
    bucket = boto3.session.Session().client(
        "s3", endpoint_url=s3, aws_access_key_id=S3_KEY, aws_secret_access_key=S3_SECRET,
        region_name="us-east-1").list_objects_v2(Bucket="private-media")
    assert bucket.get("KeyCount", 0) == 0


def test_each_problem_fails_its_check_and_says_what_to_do(
        tmp_path: Path, databases: Databases, stripe: StripeRecorder, s3: str) -> None:
    stripe.replies["/v1/webhook_endpoints"] = listing(
        HANDLED_EVENTS[:-2], url="http://shop.example.com/api/v1/webhooks/stripe")
    closed_port = free_port()  # nothing listens there
    env = production(tmp_path, databases.create(), stripe, s3, closed_port,
                     PATRONAGE_PUBLIC_URL="http://shop.example.com",
                     PATRONAGE_STRIPE_SECRET_KEY="sk_test_doctor_51abc",
                     PATRONAGE_R2_BUCKET="public-media", PATRONAGE_SECRET_KEY="short")
    result = doctor(env)
    assert result.exit_code == 1, result.output
    assert rows(result.output) == {
        "database": "pass", "migrations": "FAIL", "environment": "pass",
        "secret key": "FAIL", "public URL": "FAIL", "stripe keys": "FAIL",
        "stripe webhook": "FAIL", "media storage": "FAIL", "mail": "FAIL"}
    text = " ".join(result.output.split())
    assert "run: patronage db upgrade" in text
    assert "not sent: invoice.paid, invoice.payment_failed" in text
    assert "'public-media' is readable without a signature (HTTP 200)" in text
    assert "7 of 9 checks failed" in text
    assert_no_secret(result.output)


def test_an_endpoint_for_another_address_or_disabled_is_not_ours(
        tmp_path: Path, databases: Databases, stripe: StripeRecorder, s3: str,
        smtp: int) -> None:
    url = databases.create()
    migrate.upgrade(url)
    for reply, says in ((listing(HANDLED_EVENTS, url="https://old.example.com/hook"),
                         "no endpoint for https://shop.example.com/api/v1/webhooks/stripe"),
                        (listing(("*",), status="disabled"), "is disabled")):
        stripe.replies["/v1/webhook_endpoints"] = reply
        result = doctor(production(tmp_path, url, stripe, s3, smtp))
        assert result.exit_code == 1
        assert rows(result.output)["stripe webhook"] == "FAIL"
        assert says in " ".join(result.output.split())


def test_the_embedded_default_is_not_ready_for_production(tmp_path: Path) -> None:
    result = doctor({"PATRONAGE_DATA_DIR": str(tmp_path / "var"), "COLUMNS": "250"})
    assert result.exit_code == 1
    found = rows(result.output)
    assert found["database"] == "pass"
    for name in ("database kind", "environment", "payments", "media storage", "mail",
                 "secret key", "public URL"):
        assert found[name] == "FAIL", name
