"""Request and response bodies of the HTTP API (msgspec Structs)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

EmailText = Annotated[str, Meta(min_length=3, max_length=254, description="Email address")]
PasswordText = Annotated[str, Meta(max_length=1024, description="At least 8 characters")]
Token = Annotated[str, Meta(min_length=1, max_length=256)]
Name = Annotated[str, Meta(min_length=1, max_length=255)]
Bio = Annotated[str, Meta(max_length=5000)]
UrlText = Annotated[str, Meta(max_length=2048)]


class Strict(msgspec.Struct, forbid_unknown_fields=True):
    """Request bodies refuse unknown fields: a client cannot slip in role or owner."""


class RegisterBody(Strict):
    email: EmailText
    password: PasswordText
    full_name: Name


class LoginBody(Strict):
    email: EmailText
    password: PasswordText


class TokenBody(Strict):
    token: Token


class ResetRequestBody(Strict):
    email: EmailText


class ResetConfirmBody(Strict):
    token: Token
    new_password: PasswordText


class ChangePasswordBody(Strict):
    current_password: PasswordText
    new_password: PasswordText


class DeleteAccountBody(Strict):
    password: PasswordText


class ProfilePatch(Strict):
    full_name: Name | UnsetType = UNSET
    bio: Bio | UnsetType | None = UNSET
    profile_image_url: UrlText | UnsetType | None = UNSET


class CreateUserBody(Strict):
    email: EmailText
    password: PasswordText
    full_name: Name
    role: Annotated[str, Meta(pattern="^(platform_creator|platform_owner|media_owner|customer)$")]
    verified: bool = True


class SetRoleBody(Strict):
    email: EmailText
    role: Annotated[str, Meta(pattern="^(platform_creator|platform_owner|media_owner|customer)$")]


class EmailBody(Strict):
    email: EmailText


class SettingsPatch(Strict):
    platform_name: Annotated[str, Meta(max_length=255)] | UnsetType = UNSET
    logo_url: UrlText | UnsetType | None = UNSET
    primary_color: Annotated[str, Meta(max_length=7)] | UnsetType = UNSET
    hero_title: Annotated[str, Meta(max_length=500)] | UnsetType | None = UNSET
    hero_subtitle: Annotated[str, Meta(max_length=5000)] | UnsetType | None = UNSET
    hero_background_url: UrlText | UnsetType | None = UNSET
    hero_cta_text: Annotated[str, Meta(max_length=100)] | UnsetType | None = UNSET
    hero_cta_link: UrlText | UnsetType | None = UNSET
    featured_content_ids: Annotated[list[UUID], Meta(max_length=50)] | UnsetType = UNSET
    contact_email: EmailText | UnsetType | None = UNSET
    social_links: dict[Annotated[str, Meta(max_length=50)], UrlText] | UnsetType = UNSET
    about_content: Annotated[str, Meta(max_length=200000)] | UnsetType | None = UNSET
    email_from_name: Annotated[str, Meta(max_length=255)] | UnsetType | None = UNSET
    timezone: Annotated[str, Meta(max_length=50)] | UnsetType = UNSET


def set_fields(struct: msgspec.Struct) -> dict[str, Any]:
    """The fields a PATCH body actually carried (explicit nulls included)."""
    return {
        name: getattr(struct, name)
        for name in struct.__struct_fields__
        if getattr(struct, name) is not UNSET
    }


class Accepted(msgspec.Struct):
    status: str
    message: str


class SessionOut(msgspec.Struct):
    token: str
    token_type: str
    expires_at: datetime
    user_id: UUID


class RevokedOut(msgspec.Struct):
    revoked_sessions: int


class UserOut(msgspec.Struct):
    id: UUID
    email: str
    full_name: str
    role: str
    email_verified: bool
    profile_image_url: str | None
    bio: str | None
    created_at: datetime
    disabled: bool


class SettingsOut(msgspec.Struct):
    platform_name: str
    logo_url: str | None
    primary_color: str
    hero_title: str | None
    hero_subtitle: str | None
    hero_background_url: str | None
    hero_cta_text: str | None
    hero_cta_link: str | None
    featured_content_ids: list[UUID]
    contact_email: str | None
    social_links: dict[str, str]
    about_content: str | None
    email_from_name: str | None
    timezone: str
    updated_at: datetime


class HealthOut(msgspec.Struct):
    status: str
    database: str


class ProblemField(msgspec.Struct):
    field: str | None
    message: str
    code: str | None = None


class Problem(msgspec.Struct):
    """RFC 9457 problem details; ``code`` is stable and meant for machines."""

    type: str
    title: str
    status: int
    code: str
    instance: str
    detail: str | None = None
    errors: list[ProblemField] | None = None


# -- catalog -------------------------------------------------------------------------

ContentKind = Annotated[str, Meta(pattern="^(video|audio|written)$")]
VisibilityText = Annotated[str, Meta(pattern="^(public|private|members_only|purchased_only)$")]
Title = Annotated[str, Meta(min_length=1, max_length=500)]
SlugText = Annotated[str, Meta(min_length=1, max_length=200)]
Description = Annotated[str, Meta(max_length=20_000)]
Category = Annotated[str, Meta(max_length=100)]
Tag = Annotated[str, Meta(max_length=50)]
PriceText = Annotated[str, Meta(pattern=r"^\d{1,8}(\.\d{1,2})?$",
                                description="Decimal amount as a string, e.g. \"9.99\"")]
Currency = Annotated[str, Meta(pattern="^[A-Za-z]{3}$")]
Html = Annotated[str, Meta(max_length=1_000_000)]


class ContentCreate(Strict):
    title: Title
    content_type: ContentKind
    slug: SlugText | None = None
    description: Description | None = None
    category: Category | None = None
    tags: Annotated[list[Tag], Meta(max_length=20)] = []
    visibility: VisibilityText = "purchased_only"
    price: PriceText | None = None
    currency: Currency | None = None
    thumbnail_url: UrlText | None = None
    body_html: Html | None = None


class ContentPatch(Strict):
    title: Title | UnsetType = UNSET
    description: Description | UnsetType | None = UNSET
    category: Category | UnsetType | None = UNSET
    tags: Annotated[list[Tag], Meta(max_length=20)] | UnsetType = UNSET
    visibility: VisibilityText | UnsetType = UNSET
    price: PriceText | UnsetType | None = UNSET
    currency: Currency | UnsetType = UNSET
    thumbnail_url: UrlText | UnsetType | None = UNSET
    body_html: Html | UnsetType | None = UNSET


class SlugBody(Strict):
    slug: SlugText


class PrerequisitesBody(Strict):
    prerequisite_ids: Annotated[list[UUID], Meta(max_length=20)]


class UploadRequest(Strict):
    content_type: Annotated[str, Meta(max_length=100)]
    size: Annotated[int, Meta(ge=1)]


class UploadOut(msgspec.Struct):
    key: str
    url: str
    method: str
    headers: dict[str, str]
    expires_at: datetime


class UploadConfirm(Strict):
    key: Annotated[str, Meta(max_length=300)]
    duration_seconds: Annotated[int, Meta(ge=1, le=60 * 60 * 24)]


class AccessOut(msgspec.Struct):
    allowed: bool
    reason: str


class ProgressOut(msgspec.Struct):
    position_seconds: int
    duration_seconds: int
    completed: bool
    updated_at: datetime | None = None


class ProgressBody(Strict):
    position_seconds: Annotated[int, Meta(ge=0, le=60 * 60 * 24)]


class EntryOut(msgspec.Struct):
    id: UUID
    slug: str
    title: str
    description: str | None
    content_type: str
    visibility: str
    category: str | None
    tags: list[str]
    price: str | None
    currency: str
    thumbnail_url: str | None
    duration_seconds: int | None
    series_id: UUID | None
    published_at: datetime | None
    view_count: int


class PageOut(msgspec.Struct):
    items: list[EntryOut]
    next_cursor: str | None


class ContentOut(msgspec.Struct):
    item: EntryOut
    access: AccessOut
    body_html: str | None
    preview: str | None
    progress: ProgressOut | None


class StudioItemOut(msgspec.Struct):
    id: UUID
    creator_id: UUID
    slug: str
    title: str
    description: str | None
    content_type: str
    status: str
    visibility: str
    category: str | None
    tags: list[str]
    price: str | None
    currency: str
    thumbnail_url: str | None
    has_media: bool
    duration_seconds: int | None
    body_html: str | None
    series_id: UUID | None
    prerequisite_ids: list[UUID]
    published_at: datetime | None
    view_count: int
    purchase_count: int
    created_at: datetime
    updated_at: datetime


class StudioEntryOut(msgspec.Struct):
    id: UUID
    slug: str
    title: str
    content_type: str
    status: str
    visibility: str
    price: str | None
    currency: str
    published_at: datetime | None
    view_count: int


class PlaybackOut(msgspec.Struct):
    url: str
    expires_at: datetime


class ContinueOut(msgspec.Struct):
    content_id: UUID
    slug: str
    title: str
    content_type: str
    thumbnail_url: str | None
    progress: ProgressOut


class SeriesCreate(Strict):
    title: Title
    slug: SlugText | None = None
    description: Description | None = None
    price: PriceText | None = None
    currency: Currency | None = None
    thumbnail_url: UrlText | None = None


class SeriesPatch(Strict):
    title: Title | UnsetType = UNSET
    description: Description | UnsetType | None = UNSET
    price: PriceText | UnsetType | None = UNSET
    currency: Currency | UnsetType = UNSET
    thumbnail_url: UrlText | UnsetType | None = UNSET


class SeriesItemBody(Strict):
    content_id: UUID
    position: Annotated[int, Meta(ge=0)] | None = None


class SeriesOrderBody(Strict):
    content_order: Annotated[list[UUID], Meta(max_length=500)]


class SeriesItemOut(msgspec.Struct):
    item: EntryOut
    access: AccessOut


class SeriesOut(msgspec.Struct):
    id: UUID
    slug: str
    title: str
    description: str | None
    thumbnail_url: str | None
    price: str | None
    currency: str
    status: str
    published_at: datetime | None
    items: list[SeriesItemOut]


# -- commerce ------------------------------------------------------------------------


class PurchaseBody(Strict):
    content_id: UUID | None = None
    series_id: UUID | None = None
    payment_method: Annotated[str, Meta(max_length=100, description=(
        "Stripe: a PaymentMethod id to confirm server-side (else confirm with the client "
        "secret). Sandbox: a test card number, 4242424242424242 succeeds, "
        "4000000000000002 is declined."))] | None = None


class PurchaseOut(msgspec.Struct):
    purchase_id: UUID
    status: str
    amount: str
    currency: str
    client_secret: str | None
    gateway: str


class PurchaseLineOut(msgspec.Struct):
    id: UUID
    kind: str
    title: str
    slug: str
    status: str
    amount: str
    currency: str
    created_at: datetime
    purchased_at: datetime | None
    refunded_at: datetime | None


class LibraryItemOut(msgspec.Struct):
    item: EntryOut
    reason: str


class RefundBody(Strict):
    reason: Annotated[str, Meta(min_length=1, max_length=1000)]
    amount: PriceText | None = None


class RefundOut(msgspec.Struct):
    purchase_id: UUID
    refund_id: str
    amount: str
    currency: str
    status: str


class GrantBody(Strict):
    email: EmailText
    content_id: UUID
    access_type: Annotated[str, Meta(pattern="^(complimentary|preview)$")] = "complimentary"
    expires_at: datetime | None = None


class GrantOut(msgspec.Struct):
    user_id: UUID
    content_id: UUID
    access_type: str
    expires_at: datetime | None
    created: bool


class WebhookOut(msgspec.Struct):
    received: bool
    outcome: str
