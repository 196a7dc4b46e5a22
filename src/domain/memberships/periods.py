"""Calendar arithmetic for billing periods."""

from __future__ import annotations

import calendar
from datetime import datetime

from domain.memberships.tier import BillingPeriod


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` later; the 31st becomes the month's last day."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def period_end(start: datetime, period: BillingPeriod) -> datetime:
    return add_months(start, 1 if period is BillingPeriod.MONTHLY else 12)


def months_in(period: BillingPeriod) -> int:
    return 1 if period is BillingPeriod.MONTHLY else 12
