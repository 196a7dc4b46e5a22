"""``patronage``: operate a Patronage platform from the shell."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sys
import threading
import time
from typing import Annotated, Any

import attrs
import typer
from rich.console import Console
from rich.table import Table

from adapters.sqlalchemy import migrate
from application.analytics.aggregation import AggregateAnalytics, AggregationReport
from application.credits.schedule import RunCreditSchedule
from application.identity.administration import DisableUser, EnableUser, ListUsers, SetRole
from application.identity.registration import CreateUser
from application.notifications.credit_warnings import WarnExpiringCredits
from application.offerings.booking import ReleaseExpiredHolds
from application.offerings.installments import ChargeDueInstallments, InstallmentReport
from application.offerings.reminders import SendDueReminders
from application.offerings.waitlist import LapseWaitlistOffers
from application.platform.settings import GetSettings, UpdateSettings
from application.principal import Principal
from domain.errors import ValidationError
from domain.identity.passwords import NewPassword
from domain.identity.roles import Role
from entrypoints.bootstrap import Patronage, bootstrap
from entrypoints.cli import backups
from entrypoints.cli.analytics import analytics_app
from entrypoints.cli.api_keys import api_keys_app
from entrypoints.cli.catalog import access_app, content_app
from entrypoints.cli.commerce import purchases_app
from entrypoints.cli.errors import cli_errors
from entrypoints.cli.memberships import credits_app, sandbox_app, subscriptions_app, tiers_app
from entrypoints.cli.offerings import bookings_app, offerings_app
from entrypoints.cli.payouts import earnings_app, media_owners_app
from entrypoints.cli.running import run
from entrypoints.config import Settings
from entrypoints.doctor import diagnose

app = typer.Typer(help="Operate a Patronage platform.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database migrations and backups.", no_args_is_help=True)
users_app = typer.Typer(help="Manage accounts.", no_args_is_help=True)
settings_app = typer.Typer(help="Platform settings.", no_args_is_help=True)
demo_app = typer.Typer(help="Demo data for local exploration.", no_args_is_help=True)
app.add_typer(db_app, name="db")
db_app.command("backup")(backups.db_backup)
db_app.command("restore")(backups.db_restore)
db_app.command("verify-backup")(backups.db_verify_backup)
app.add_typer(users_app, name="users")
app.add_typer(settings_app, name="settings")
app.add_typer(demo_app, name="demo")
app.add_typer(content_app, name="content")
app.add_typer(access_app, name="access")
app.add_typer(purchases_app, name="purchases")
app.add_typer(tiers_app, name="tiers")
app.add_typer(subscriptions_app, name="subscriptions")
app.add_typer(credits_app, name="credits")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(offerings_app, name="offerings")
app.add_typer(bookings_app, name="bookings")
app.add_typer(media_owners_app, name="media-owners")
app.add_typer(earnings_app, name="earnings")
app.add_typer(api_keys_app, name="api-keys")
app.add_typer(analytics_app, name="analytics")

# soft_wrap: long lines stay whole when the output is piped into grep or a file.
console = Console(soft_wrap=True)
# The worker runs the credit schedule this often (it is idempotent: any rate is safe).
CREDIT_SCHEDULE_SECONDS = 60.0
CREDIT_STEPS = ("credits", "expiring credits")
# And brings the daily analytics up to date this often (incrementally: only the days
# something was written for since its last run, plus today and yesterday).
ANALYTICS_SECONDS = 300.0


@app.callback()
def _configure() -> None:
    """Operate a Patronage platform."""
    # A bad setting is reported by the command itself, which reads the settings again.
    with contextlib.suppress(ValidationError):
        Settings.from_env().configure_logging()
SYSTEM = Principal.system()


def _settings() -> Settings:
    return Settings.from_env()


def _patronage() -> Patronage:
    return bootstrap(_settings())


# ------------------------------------------------------------------- db


@db_app.command("upgrade")
@cli_errors
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    migrate.upgrade(_settings().effective_database_url, revision)
    console.print(f"database at {migrate.current(_settings().effective_database_url)}")


@db_app.command("downgrade", context_settings={"ignore_unknown_options": True})
@cli_errors
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. -1 or base.")],
) -> None:
    """Revert migrations down to REVISION."""
    migrate.downgrade(_settings().effective_database_url, revision)
    console.print(f"database at {migrate.current(_settings().effective_database_url) or 'base'}")


@db_app.command("current")
@cli_errors
def db_current() -> None:
    """Show the revision the database is at."""
    current = migrate.current(_settings().effective_database_url)
    head = migrate.head()
    state = "up to date" if current == head else f"behind (head is {head})"
    console.print(f"{current or 'base'} ({state})")


@db_app.command("history")
@cli_errors
def db_history() -> None:
    """List every migration, oldest first."""
    for revision, down, message in migrate.history():
        console.print(f"{down or 'base'} -> {revision}: {message.splitlines()[0]}",
                      highlight=False)


# ------------------------------------------------------------------- users


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    NewPassword(password)
    return password


@users_app.command("create")
@cli_errors
def users_create(
    email: Annotated[str, typer.Option(help="Email address (login name).")],
    role: Annotated[Role, typer.Option(help="Account role.")] = Role.CUSTOMER,
    full_name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create a verified account. The password is prompted for (or read from stdin)."""
    password = _read_password(password_stdin)
    view = run(CreateUser(
        actor=SYSTEM, email=email, password=password,
        full_name=full_name or email.split("@")[0], role=role,
    ))
    console.print(f"created {view.email} ({view.role}) id={view.id}", highlight=False)


@users_app.command("list")
@cli_errors
def users_list(
    role: Annotated[Role | None, typer.Option(help="Only this role.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    offset: Annotated[int, typer.Option(min=0)] = 0,
) -> None:
    """List live accounts."""
    views = run(ListUsers(actor=SYSTEM, role=role, limit=limit, offset=offset))
    rows = [(v.email, v.role, "yes" if v.email_verified else "no",
             "yes" if v.disabled else "no", v.created_at.strftime("%Y-%m-%d %H:%M"))
            for v in views]
    if not console.is_terminal:
        # Piped: one tab-separated line per account, nothing cut, easy to grep.
        for row in rows:
            console.print("\t".join(row), highlight=False, markup=False)
        return
    table = Table("email", "role", "verified", "disabled", "created")
    for row in rows:
        table.add_row(*row)
    console.print(table)


@users_app.command("set-role")
@cli_errors
def users_set_role(email: str, role: Role) -> None:
    """Change the role of the account with EMAIL."""
    view = run(SetRole(actor=SYSTEM, email=email, role=role))
    console.print(f"{view.email} is now {view.role}", highlight=False)


@users_app.command("disable")
@cli_errors
def users_disable(email: str) -> None:
    """Disable the account with EMAIL and end its sessions."""
    view = run(DisableUser(actor=SYSTEM, email=email))
    console.print(f"{view.email} disabled", highlight=False)


@users_app.command("enable")
@cli_errors
def users_enable(email: str) -> None:
    """Enable a disabled account again."""
    view = run(EnableUser(actor=SYSTEM, email=email))
    console.print(f"{view.email} enabled", highlight=False)


# ------------------------------------------------------------------- settings

# Settings that are not text: given as JSON (7, true, ["<id>"], {}).
_JSON_SETTINGS = {"featured_content_ids", "social_links", "membership_grace_days",
                  "hide_platform_branding"}


def _setting_value(key: str, value: str) -> Any:
    if key in _JSON_SETTINGS:
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"{key} takes JSON, e.g. 7, true, '[\"<id>\"]' or '{{}}'.",
                                  field=key) from exc
    return None if value == "" else value


@settings_app.command("show")
@cli_errors
def settings_show() -> None:
    """Print the platform settings."""
    s = run(GetSettings())
    table = Table("setting", "value")
    for key in ("platform_name", "logo_url", "primary_color", "hero_title", "hero_subtitle",
                "hero_background_url", "hero_cta_text", "hero_cta_link", "contact_email",
                "email_from_name", "timezone", "membership_grace_days", "search_language",
                "platform_fee_percent", "custom_domain", "hide_platform_branding"):
        value = getattr(s, key)
        table.add_row(key, "" if value is None else str(value))
    table.add_row("featured_content_ids", json.dumps([str(i) for i in s.featured_content_ids]))
    table.add_row("social_links", json.dumps(s.social_links))
    table.add_row("about_content", f"{len(s.about_content or '')} characters")
    table.add_row("custom_css", f"{len(s.custom_css or '')} characters")
    console.print(table)


@settings_app.command("set")
@cli_errors
def settings_set(
    key: str,
    value: Annotated[str, typer.Argument(help="New value; empty string clears; JSON for "
                                              "featured_content_ids, social_links, "
                                              "membership_grace_days and "
                                              "hide_platform_branding.")],
) -> None:
    """Set one platform setting."""
    patronage = _patronage()
    try:
        changes = {key: _setting_value(key, value)}
        s = patronage.handle(UpdateSettings(actor=SYSTEM, changes=changes))
    finally:
        patronage.close()
    console.print(f"{key} = {getattr(s, key)!r}", highlight=False)


# ------------------------------------------------------------------- demo, worker, serve


@demo_app.command("seed")
@cli_errors
def demo_seed() -> None:
    """Create demo accounts and content once; prints the demo login."""
    from entrypoints.demo import seed_demo

    settings = _settings()
    patronage = bootstrap(settings)
    try:
        login = seed_demo(patronage, settings.data_dir)
    finally:
        patronage.close()
    console.print(f"[bold]Demo login (local use only):[/bold] {login}", highlight=False)


@app.command("worker")
@cli_errors
def worker(
    once: Annotated[bool, typer.Option(help="Process what is due, then exit.")] = False,
    interval: Annotated[float, typer.Option(min=0.1, help="Seconds between polls.")] = 5.0,
    metrics_port: Annotated[int | None, typer.Option(
        min=1, max=65535, help="Serve this worker's Prometheus metrics on this port.")] = None,
) -> None:
    """Run pending and failed event handlers from the outbox (emails, refunds), release
    seats held for payments that never came, pass waiting-list offers not taken in time on,
    queue booking reminders (24 h and 1 h before; each once however many workers run),
    charge the installments of bookings paid monthly as they fall due, run the credit
    schedule (expiries, yearly members' credits) every minute, and bring the daily
    analytics up to date every five minutes."""
    settings = _settings()
    if metrics_port is not None:
        # The worker's own counts, not the server processes' shared folder.
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        settings = attrs.evolve(settings, metrics=True)
    patronage = bootstrap(settings)
    if metrics_port is not None:
        from prometheus_client import start_http_server

        from adapters.metrics.prometheus import registry_for

        start_http_server(metrics_port, addr=settings.host,
                          registry=registry_for(patronage.engine))
        console.print(f"metrics on http://{settings.host}:{metrics_port}/metrics",
                      highlight=False)
    schedule_due = 0.0
    system = Principal.system()
    periodic: list[tuple[str, Any]] = [
        ("unpaid seats released", ReleaseExpiredHolds(actor=system)),
        ("waiting-list offers passed on", LapseWaitlistOffers(actor=system)),
        ("booking reminders queued", SendDueReminders(actor=system)),
        ("installments", ChargeDueInstallments(actor=system)),
        ("credits", RunCreditSchedule(actor=system)),
        ("expiring credits", WarnExpiringCredits(actor=system)),
        ("analytics", AggregateAnalytics(actor=system)),
    ]
    analytics_due = 0.0
    # SIGTERM (an orchestrator stopping us) finishes the message or step in hand, then
    # stops: nothing half-done is left for another worker to do again.
    stopping = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        while not stopping.is_set():
            done = patronage.process_outbox(stopping=stopping.is_set)
            if done:
                console.print(f"processed {done} message(s)")
            for label, step in periodic:
                if stopping.is_set():
                    break
                if label in CREDIT_STEPS and time.monotonic() < schedule_due:
                    continue
                if label == CREDIT_STEPS[-1]:
                    # Due again in a minute, however this run ends.
                    schedule_due = time.monotonic() + CREDIT_SCHEDULE_SECONDS
                if label == "analytics":
                    if time.monotonic() < analytics_due:
                        continue
                    analytics_due = time.monotonic() + ANALYTICS_SECONDS
                try:
                    done_here = patronage.handle(step)
                except Exception as exc:
                    # One step failing (a lock timeout, an unreachable provider) must not
                    # stop the others, or the worker: it is tried again next time.
                    console.print(f"{label}: failed ({type(exc).__name__}); will retry")
                    continue
                if label == "credits":
                    if done_here.granted or done_here.expired:
                        console.print(f"credits: granted {done_here.granted}, "
                                      f"expired {done_here.expired}")
                elif isinstance(done_here, AggregationReport):
                    console.print(f"analytics: {done_here}", highlight=False)
                elif isinstance(done_here, InstallmentReport):
                    if done_here.paid or done_here.declined:
                        console.print(f"installments: {done_here.paid} paid, "
                                      f"{done_here.declined} declined, "
                                      f"{done_here.plans_failed} plan(s) ended")
                elif done_here:
                    console.print(f"{label}: {done_here}")
            if once:
                return
            stopping.wait(interval)
        console.print("worker stopped")
    except KeyboardInterrupt:
        console.print("worker stopped")
    finally:
        signal.signal(signal.SIGTERM, previous)
        patronage.close()


@app.command("doctor")
@cli_errors
def doctor() -> None:
    """Check this configuration before it goes live, against the real services: the
    database reachable and migrated, production mode, a shared secret key, an https
    public URL, Stripe live keys with the webhook endpoint registered for every event
    we use, the R2 bucket reachable and private, the SMTP server accepting us. Prints
    what to do for each failure; exits 1 if any."""
    checks = diagnose(_settings())
    table = Table("check", "result", "detail", "what to do")
    for check in checks:
        table.add_row(check.name, "[green]pass[/green]" if check.ok else "[red]FAIL[/red]",
                      check.detail, check.fix)
    console.print(table)
    failed = sum(not check.ok for check in checks)
    console.print(f"{failed} of {len(checks)} checks failed" if failed
                  else f"all {len(checks)} checks passed", highlight=False)
    if failed:
        raise typer.Exit(1)


def _count_across_processes(settings: Settings) -> None:
    """Every server process adds its counts to files in one folder, emptied first (a
    folder left by an earlier run would add its counts again). Set before any process
    imports prometheus-client; with a metrics port, this process serves the sums."""
    folder = settings.data_dir / "prometheus"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    if settings.metrics_port:
        from prometheus_client import start_http_server

        from adapters.metrics.prometheus import registry_for
        from adapters.sqlalchemy.engine import create_engine

        start_http_server(settings.metrics_port, addr=settings.host,
                          registry=registry_for(create_engine(settings.effective_database_url)))


@app.command("serve")
@cli_errors
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Server processes.")] = None,
    outbox_worker: Annotated[
        bool, typer.Option(help="Also retry failed event handlers in this process.")
    ] = True,
) -> None:
    """Serve the HTTP API with granian (migrate first: patronage db upgrade)."""
    from granian import Granian
    from granian.constants import Interfaces

    settings = _settings()
    host = host or settings.host
    port = port or settings.port
    base = f"http://{host}:{port}"
    docs = f"{base}/schema/docs" if settings.docs_ui != "off" else "off"
    console.print(f"API:      {base}/api/v1\nOpenAPI:  {base}/schema/openapi.json\n"
                  f"Docs UI:  {docs}\nHealth:   {base}/health", highlight=False)
    if settings.payments == "sandbox":
        console.print(
            "[bold yellow]PAYMENTS: SANDBOX[/bold yellow] - test cards only, no real money is "
            "taken. Set PATRONAGE_PAYMENTS=stripe for real payments.", highlight=False)
    else:
        mode = "TEST" if (settings.stripe_secret_key or "").startswith("sk_test") else "LIVE"
        console.print(f"[bold]PAYMENTS: STRIPE ({mode} keys)[/bold]", highlight=False)
    if settings.metrics:
        _count_across_processes(settings)
        where = (f"http://{host}:{settings.metrics_port}/metrics" if settings.metrics_port
                 else f"{base}/metrics")
        console.print(f"Metrics:  {where}", highlight=False)
    target = "app_from_env" if outbox_worker else "app_without_retry"
    Granian(
        f"entrypoints.http.app:{target}", factory=True, interface=Interfaces.ASGI,
        address=host, port=port, workers=workers or settings.workers, log_access=False,
    ).serve()


if __name__ == "__main__":  # pragma: no cover
    app()
