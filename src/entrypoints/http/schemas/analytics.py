"""Bodies of the analytics routes."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import Meta


class PointOut(msgspec.Struct):
    period: Annotated[date, Meta(description="The period's first day (a Monday for weeks)")]
    value: Annotated[str, Meta(description="A decimal: money, a count or a ratio")]


class SeriesOut(msgspec.Struct):
    metric: str
    unit: Annotated[str, Meta(description="money, count or ratio")]
    group: str
    start: date
    end: date
    dimension: Annotated[str, Meta(description=(
        "What the series covers: '' (everything), source:<kind>, seller:<id>, tier:<id> "
        "or item:<id>"))]
    points: list[PointOut]
    total: Annotated[str, Meta(description=(
        "The sum over the range; for mrr and active_members the last day's value; for "
        "completion_rate the rate over the whole range"))]


class ItemAnalyticsOut(msgspec.Struct):
    item_id: UUID
    kind: Annotated[str, Meta(description="content, series, offering or pack")]
    title: str
    views: int
    plays: int
    completions: int
    completion_rate: str
    bookings: int
    attended: int
    revenue_gross: str
    revenue_refunds: str
    revenue_net: str


class ItemsOut(msgspec.Struct):
    start: date
    end: date
    items: list[ItemAnalyticsOut]
