"""Sending one email and recording it in email_logs."""

from __future__ import annotations

from uuid import UUID

from application.notifications.branding import branded_html, site_url
from application.ports.mail import Attachment, EmailLogEntry, MailDeliveryError, OutgoingEmail
from application.services import Services
from application.unit_of_work import UnitOfWork


def deliver(
    uow: UnitOfWork,
    services: Services,
    *,
    to: str,
    user_id: UUID | None,
    email_type: str,
    subject: str,
    text: str,
    attachments: tuple[Attachment, ...] = (),
) -> None:
    """Send now; log 'sent' in the caller's transaction or 'failed' in one of its own.

    A failure is logged and re-raised so the outbox retries the whole handler.
    """
    settings = uow.settings.get()
    message = OutgoingEmail(
        to=to, subject=subject, text=text, from_address=services.config.mail_from,
        from_name=settings.email_from_name or settings.platform_name,
        attachments=attachments,
        html=branded_html(text, settings, site_url(uow, services)),
    )
    now = services.clock.now()
    try:
        provider_id = services.mailer.send(message)
    except MailDeliveryError as exc:
        # The caller's transaction is undone by the failure anyway: end it first, so the
        # log's own transaction does not wait on its lock (SQLite has one writer).
        uow.rollback()
        with services.uow_factory() as log_uow:
            log_uow.email_logs.add(EmailLogEntry(
                id=services.ids.new_id(), recipient_email=to, user_id=user_id,
                email_type=email_type, subject=subject, status="failed",
                provider=services.mailer.provider, provider_message_id=None,
                error_message=str(exc)[:2000], sent_at=None, created_at=now,
            ))
            log_uow.commit()
        services.metrics.email("failed")
        raise
    services.metrics.email("sent")
    uow.email_logs.add(EmailLogEntry(
        id=services.ids.new_id(), recipient_email=to, user_id=user_id, email_type=email_type,
        subject=subject, status="sent", provider=services.mailer.provider,
        provider_message_id=provider_id, error_message=None, sent_at=now, created_at=now,
    ))
