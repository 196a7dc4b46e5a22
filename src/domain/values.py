"""Value objects shared across the domain."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any, ClassVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import attrs

from domain.errors import ValidationError

# RFC 5321 caps a forward path at 256 octets including the angle brackets.
EMAIL_MAX_LENGTH = 254
_EMAIL_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$")
_EMAIL_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def _normalise_email(value: object) -> str:
    if not isinstance(value, str):
        raise ValidationError("Email must be a string.", code="validation.email", field="email")
    email = value.strip()
    local, sep, domain = email.rpartition("@")
    if (
        not sep
        or not local
        or len(email) > EMAIL_MAX_LENGTH
        or len(local) > 64
        or not _EMAIL_LOCAL.fullmatch(local)
        or local.startswith(".")
        or local.endswith(".")
        or ".." in local
    ):
        raise ValidationError("Not a valid email address.", code="validation.email", field="email")
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError as exc:
        raise ValidationError(
            "Not a valid email address.", code="validation.email", field="email"
        ) from exc
    labels = ascii_domain.split(".")
    if (
        len(labels) < 2
        or not all(_EMAIL_LABEL.fullmatch(label) for label in labels)
        or len(local) + 1 + len(ascii_domain) > EMAIL_MAX_LENGTH
    ):
        raise ValidationError("Not a valid email address.", code="validation.email", field="email")
    # Addresses are compared case-insensitively, as every mailbox provider a creator's
    # audience uses does; storing one canonical form keeps the unique index honest.
    return f"{local.lower()}@{ascii_domain}"


@attrs.frozen
class Email:
    value: str = attrs.field(converter=_normalise_email)

    def __str__(self) -> str:
        return self.value


def _hex_colour(value: object) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"#[0-9a-fA-F]{6}", value):
        raise ValidationError(
            "Colour must be a hex colour like #3b82f6.", code="validation.colour"
        )
    return value.lower()


@attrs.frozen
class HexColour:
    value: str = attrs.field(converter=_hex_colour)

    def __str__(self) -> str:
        return self.value


URL_MAX_LENGTH = 2048


def _http_url(value: object) -> str:
    if not isinstance(value, str) or len(value) > URL_MAX_LENGTH:
        raise ValidationError("Not a valid URL.", code="validation.url")
    parts = urlsplit(value)
    # urlsplit silently strips tabs and newlines; a URL that carries them is refused.
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value)
    ):
        raise ValidationError(
            "URL must be an absolute http(s) URL.", code="validation.url"
        )
    return value


@attrs.frozen
class Url:
    value: str = attrs.field(converter=_http_url)

    def __str__(self) -> str:
        return self.value


def _timezone(value: object) -> str:
    if not isinstance(value, str) or value not in _known_timezones():
        raise ValidationError("Unknown IANA time zone.", code="validation.timezone")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError("Unknown IANA time zone.", code="validation.timezone") from exc
    return value


_TZ_CACHE: set[str] = set()


def _known_timezones() -> set[str]:
    if not _TZ_CACHE:
        _TZ_CACHE.update(available_timezones())
        _TZ_CACHE.add("UTC")
    return _TZ_CACHE


@attrs.frozen
class TimeZoneName:
    value: str = attrs.field(converter=_timezone)

    def __str__(self) -> str:
        return self.value


_SLUG_STRIP = re.compile(r"[^a-z0-9]+")
SLUG_MAX_LENGTH = 200


def slugify(text: str) -> str:
    """Lower-case ASCII words joined by hyphens; accents folded, the rest dropped."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _SLUG_STRIP.sub("-", folded.lower()).strip("-")
    return slug[:SLUG_MAX_LENGTH].rstrip("-")


def _slug(value: object) -> str:
    if (
        not isinstance(value, str)
        or not value
        or len(value) > SLUG_MAX_LENGTH
        or not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", value)
    ):
        raise ValidationError(
            "Slug must be lower-case letters, digits and single hyphens.",
            code="validation.slug",
        )
    return value


@attrs.frozen
class Slug:
    value: str = attrs.field(converter=_slug)

    def __str__(self) -> str:
        return self.value


# ISO 4217 minor units for the currencies whose exponent is not 2. Everything else
# Stripe supports uses two decimals.
_CURRENCY_EXPONENTS: dict[str, int] = {
    "bif": 0, "clp": 0, "djf": 0, "gnf": 0, "jpy": 0, "kmf": 0, "krw": 0, "mga": 0,
    "pyg": 0, "rwf": 0, "ugx": 0, "vnd": 0, "vuv": 0, "xaf": 0, "xof": 0, "xpf": 0,
    "bhd": 3, "jod": 3, "kwd": 3, "omr": 3, "tnd": 3,
}


def currency_exponent(currency: str) -> int:
    return _CURRENCY_EXPONENTS.get(currency, 2)


# ISO 4217 codes of money (pycountry's list without precious metals, funds units and
# test codes; tests/unit/test_values.py keeps the two in step).
ISO_4217 = frozenset((
    "aed", "afn", "all", "amd", "aoa", "ars", "aud", "awg", "azn", "bam", "bbd", "bdt",
    "bhd", "bif", "bmd", "bnd", "bob", "bov", "brl", "bsd", "btn", "bwp", "byn", "bzd",
    "cad", "cdf", "che", "chf", "chw", "clf", "clp", "cny", "cop", "cou", "crc", "cup",
    "cve", "czk", "djf", "dkk", "dop", "dzd", "egp", "ern", "etb", "eur", "fjd", "fkp",
    "gbp", "gel", "ghs", "gip", "gmd", "gnf", "gtq", "gyd", "hkd", "hnl", "htg", "huf",
    "idr", "ils", "inr", "iqd", "irr", "isk", "jmd", "jod", "jpy", "kes", "kgs", "khr",
    "kmf", "kpw", "krw", "kwd", "kyd", "kzt", "lak", "lbp", "lkr", "lrd", "lsl", "lyd",
    "mad", "mdl", "mga", "mkd", "mmk", "mnt", "mop", "mru", "mur", "mvr", "mwk", "mxn",
    "mxv", "myr", "mzn", "nad", "ngn", "nio", "nok", "npr", "nzd", "omr", "pab", "pen",
    "pgk", "php", "pkr", "pln", "pyg", "qar", "ron", "rsd", "rub", "rwf", "sar", "sbd",
    "scr", "sdg", "sek", "sgd", "shp", "sle", "sos", "srd", "ssp", "stn", "svc", "syp",
    "szl", "thb", "tjs", "tmt", "tnd", "top", "try", "ttd", "twd", "tzs", "uah", "ugx",
    "usd", "usn", "uyi", "uyu", "uyw", "uzs", "ved", "ves", "vnd", "vuv", "wst", "xaf",
    "xcd", "xcg", "xof", "xpf", "yer", "zar", "zmw", "zwg",
))


def _currency(value: object) -> str:
    if not isinstance(value, str) or value.lower() not in ISO_4217:
        raise ValidationError("Currency must be an ISO 4217 code, such as usd or eur.",
                              code="validation.currency", field="currency")
    return value.lower()


def _amount(value: object) -> Decimal:
    if isinstance(value, bool):
        raise ValidationError("Not a valid amount.", code="validation.money")
    if isinstance(value, float):
        # Floats cannot carry money exactly; refusing them keeps rounding explicit.
        raise ValidationError("Money amounts must not be floats.", code="validation.money")
    if not isinstance(value, Decimal | int | str):
        raise ValidationError("Not a valid amount.", code="validation.money")
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise ValidationError("Not a valid amount.", code="validation.money") from exc
    if not amount.is_finite():
        raise ValidationError("Not a valid amount.", code="validation.money")
    return amount


@attrs.frozen
class Money:
    """A Decimal amount in one currency, always quantized to the currency's minor unit."""

    amount: Decimal = attrs.field(converter=_amount)
    currency: str = attrs.field(converter=_currency)
    ROUNDING: ClassVar[str] = ROUND_HALF_EVEN

    def __attrs_post_init__(self) -> None:
        exponent = Decimal(1).scaleb(-currency_exponent(self.currency))
        try:
            quantized = self.amount.quantize(exponent, rounding=self.ROUNDING)
        except InvalidOperation as exc:
            raise ValidationError("Amount is out of range.", code="validation.money") from exc
        object.__setattr__(self, "amount", quantized)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise ValidationError(
                "Cannot combine amounts in different currencies.", code="money.currency_mismatch"
            )

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def times(self, factor: Decimal | int) -> Money:
        """Multiply and round once, half-even, to the minor unit."""
        return Money(self.amount * Decimal(factor), self.currency)

    @property
    def is_zero(self) -> bool:
        return self.amount == 0

    @property
    def is_negative(self) -> bool:
        return self.amount < 0

    def __str__(self) -> str:
        return f"{self.amount} {self.currency.upper()}"


def text_field(value: Any, field: str, limit: int, *, required: bool) -> str | None:
    """Stripped text of at most ``limit`` characters; None for absent or blank text
    unless ``required``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError(f"{field} is required.", code="validation.required",
                                  field=field)
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be text.", field=field)
    if len(value) > limit:
        raise ValidationError(f"{field} is longer than {limit} characters.",
                              code="validation.too_long", field=field)
    return value.strip()


# Days a report may name: wide enough for any real record, and far from the calendar's
# ends, where stepping back from a day would overflow.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2999, 12, 31)


def spreadsheet_text(text: str) -> str:
    """A cell of people's text (a title, a name) that a spreadsheet would run as a formula
    is written as text (OWASP "CSV injection")."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
