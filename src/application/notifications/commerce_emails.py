"""Event handlers that email customers about their purchases."""

from __future__ import annotations

from application.notifications.delivery import deliver
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.commerce.events import PurchaseCompleted, PurchaseRefunded


def send_receipt(event: PurchaseCompleted, uow: UnitOfWork, services: Services) -> None:
    purchase = uow.purchases.get(event.purchase_id)
    user = uow.users.get(event.customer_id)
    if purchase is None or user is None:
        return
    (line,) = uow.ledger.describe([purchase])
    deliver(
        uow, services, to=user.email.value, user_id=user.id, email_type="purchase_receipt",
        subject=f"Your receipt: {line.title}",
        text=(
            f"Hello {user.full_name},\n\nThank you for your purchase.\n\n"
            f"  {line.title}\n  {purchase.amount}\n  Purchase {purchase.id}\n\n"
            f"Open it at {services.config.public_url.rstrip('/')}/"
            f"{'series' if line.kind == 'series' else 'content'}/{line.slug}\n"
        ),
    )


def send_refund_notice(event: PurchaseRefunded, uow: UnitOfWork, services: Services) -> None:
    purchase = uow.purchases.get(event.purchase_id)
    user = uow.users.get(event.customer_id)
    if purchase is None or user is None:
        return
    (line,) = uow.ledger.describe([purchase])
    deliver(
        uow, services, to=user.email.value, user_id=user.id, email_type="purchase_refund",
        subject=f"Refund: {line.title}",
        text=(
            f"Hello {user.full_name},\n\nYour purchase of {line.title} ({purchase.amount}) "
            "was refunded. The money goes back to your original payment method.\n"
        ),
    )
