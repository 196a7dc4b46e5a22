"""Event handlers that email customers about their purchases."""

from __future__ import annotations

from uuid import UUID

from application.notifications.branding import site_url
from application.notifications.delivery import deliver
from application.ports.commerce import PurchaseLine
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.commerce.events import PurchaseCompleted, PurchaseRefunded
from domain.credits.packs import pack_expiry
from domain.identity.user import User


def _line_and_buyer(uow: UnitOfWork, purchase_id: UUID, customer_id: UUID
                    ) -> tuple[PurchaseLine, User] | None:
    found = uow.ledger.line_and_buyer(purchase_id)
    if found is None or found[1].id != customer_id:
        return None
    return found


def _receipt(uow: UnitOfWork, services: Services, line: PurchaseLine, user: User,
             closing: str) -> None:
    deliver(
        uow, services, to=user.email.value, user_id=user.id, email_type="purchase_receipt",
        subject=f"Your receipt: {line.title}",
        text=(
            f"Hello {user.full_name},\n\nThank you for your purchase.\n\n"
            f"  {line.title}\n  {line.purchase.amount}\n  Purchase {line.purchase.id}\n\n"
            f"{closing}\n"
        ),
    )


def send_receipt(event: PurchaseCompleted, uow: UnitOfWork, services: Services) -> None:
    found = _line_and_buyer(uow, event.purchase_id, event.customer_id)
    if found is None:
        return
    line, user = found
    site = site_url(uow, services)
    pack = line.purchase.pack
    if pack is not None:
        granted = line.purchase.purchased_at
        expiry = pack_expiry(granted, pack.valid_days) if granted else None
        until = (f"They can be used until {expiry:%d %B %Y}." if expiry
                 else "They do not expire.")
        _receipt(uow, services, line, user,
                 f"{pack.credits} credits were added to your account. {until}\n"
                 f"See them at {site}/account/credits")
        return
    where = "series" if line.kind == "series" else "content"
    _receipt(uow, services, line, user, f"Open it at {site}/{where}/{line.slug}")


def send_refund_notice(event: PurchaseRefunded, uow: UnitOfWork, services: Services) -> None:
    found = _line_and_buyer(uow, event.purchase_id, event.customer_id)
    if found is None:
        return
    line, user = found
    deliver(
        uow, services, to=user.email.value, user_id=user.id, email_type="purchase_refund",
        subject=f"Refund: {line.title}",
        text=(
            f"Hello {user.full_name},\n\nYour purchase of {line.title} "
            f"({line.purchase.amount}) was refunded. The money goes back to your original "
            "payment method.\n"
            + ("Credits from this pack that you had not used were withdrawn; bookings you "
               "made with them stand.\n" if line.kind == "credit_pack" else "")
        ),
    )
