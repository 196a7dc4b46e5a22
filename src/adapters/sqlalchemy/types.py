"""Column types that behave the same on PostgreSQL and SQLite."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect


class UTCDateTime(sa.TypeDecorator[datetime]):
    """``timestamptz`` on PostgreSQL; on SQLite, UTC text. Always aware UTC in Python.

    Naive datetimes are refused on the way in: a naive value is a bug that would
    otherwise be silently read as UTC.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a timestamptz column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        # SQLite hands back ISO text, psycopg a datetime.
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        if not isinstance(moment, datetime):
            raise TypeError(f"a timestamptz column held {type(value).__name__}")
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)


# JSONB on PostgreSQL (indexable with GIN), JSON text on SQLite.
JSONDocument = sa.JSON().with_variant(JSONB(), "postgresql")

# Two decimals as the spec has it; currency travels in its own column.
Amount = sa.Numeric(10, 2, asdecimal=True)

UUIDKey = sa.Uuid(as_uuid=True)


CENT = Decimal("0.01")


def exact_cents(value: object) -> Decimal:
    """A sum as Decimal. SQLite keeps NUMERIC as a float and sums floats; every amount
    has two decimals, so rounding the sum to the cent gives the exact total back."""
    return Decimal(str(value or 0)).quantize(CENT)
