"""Catalog use cases against in-memory fakes: authoring, media, playback, progress, browsing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from application.catalog.authoring import (
    CreateContent,
    PublishContent,
    SetPrerequisites,
    UpdateContent,
)
from application.catalog.browsing import BrowseCatalog, CheckAccess, GetContent
from application.catalog.media import ConfirmMediaUpload, RequestPlayback, StartMediaUpload
from application.catalog.progress import ContinueWatching, RecordProgress
from application.catalog.views import StudioItem
from application.commerce.grants import GrantAccess, RevokeAccess
from application.ports.media import StoredObject
from application.principal import Principal
from domain.catalog.rules import ContentType, Visibility
from domain.errors import Conflict, Forbidden, NotFound, Unauthenticated, ValidationError
from domain.identity.roles import Role
from tests.unit.fakes.app import FakeApp, Person

SYSTEM = Principal.system()


@pytest.fixture
def app() -> FakeApp:
    return FakeApp()


@pytest.fixture
def creator(app: FakeApp) -> Person:
    return app.person("maya@example.com", Role.MEDIA_OWNER)


@pytest.fixture
def customer(app: FakeApp) -> Person:
    return app.person("cole@example.com")


def draft(app: FakeApp, owner: Person, title: str = "Lesson", *,
          content_type: ContentType = ContentType.VIDEO, **fields: Any) -> StudioItem:
    item: StudioItem = app.handle(CreateContent(actor=owner.principal, title=title,
                                                content_type=content_type, **fields))
    return item


def upload(app: FakeApp, owner: Person, content_id: UUID, *, mime: str = "video/mp4",
           duration: int = 100) -> str:
    """Run the signed-upload flow, with the client's PUT simulated in the fake storage."""
    ticket = app.handle(StartMediaUpload(actor=owner.principal, content_id=content_id,
                                         content_type=mime, size=1000))
    app.storage.objects[ticket.key] = StoredObject(size=1000, content_type=mime)
    app.handle(ConfirmMediaUpload(actor=owner.principal, content_id=content_id,
                                  key=ticket.key, duration_seconds=duration))
    return str(ticket.key)


def published_video(app: FakeApp, owner: Person, title: str = "Lesson", *,
                    duration: int = 100, **fields: Any) -> StudioItem:
    fields.setdefault("price", "9.99")
    item = draft(app, owner, title, **fields)
    upload(app, owner, item.id, duration=duration)
    published: StudioItem = app.handle(PublishContent(actor=owner.principal, content_id=item.id))
    return published


def published_text(app: FakeApp, owner: Person, title: str, **fields: object) -> StudioItem:
    fields.setdefault("body_html", "<p>Words</p>")
    item = draft(app, owner, title, content_type=ContentType.WRITTEN, **fields)
    published: StudioItem = app.handle(PublishContent(actor=owner.principal, content_id=item.id))
    return published


def give(app: FakeApp, person: Person, content_id: UUID) -> None:
    app.handle(GrantAccess(actor=SYSTEM, email=person.email, content_id=content_id))


# --------------------------------------------------------------------------- authoring


def test_only_creators_may_author(app: FakeApp, customer: Person) -> None:
    with pytest.raises(Forbidden) as error:
        draft(app, customer)
    assert error.value.code == "auth.creators_only"
    assert app.store.content == {}


def test_slugs_are_made_unique_with_a_numeric_suffix(app: FakeApp, creator: Person) -> None:
    first = draft(app, creator, "Hello, World!")
    second = draft(app, creator, "Hello World")
    third = draft(app, creator, "hello world")
    assert [first.slug, second.slug, third.slug] == ["hello-world", "hello-world-2",
                                                    "hello-world-3"]


def test_an_explicit_slug_that_is_taken_is_a_conflict(app: FakeApp, creator: Person) -> None:
    draft(app, creator, "Intro", slug="intro")
    with pytest.raises(Conflict) as error:
        draft(app, creator, "Another", slug="intro")
    assert error.value.code == "content.slug_taken"
    assert len(app.store.content) == 1


def test_publishing_needs_the_media_file_or_the_body(app: FakeApp, creator: Person) -> None:
    video = draft(app, creator, "Video")
    text = draft(app, creator, "Essay", content_type=ContentType.WRITTEN)
    with pytest.raises(Conflict) as no_media:
        app.handle(PublishContent(actor=creator.principal, content_id=video.id))
    with pytest.raises(Conflict) as no_body:
        app.handle(PublishContent(actor=creator.principal, content_id=text.id))
    assert (no_media.value.code, no_body.value.code) == ("content.media_missing",
                                                         "content.body_missing")

    upload(app, creator, video.id)
    app.handle(UpdateContent(actor=creator.principal, content_id=text.id,
                             body_html="<p>Now written</p>"))
    for content_id in (video.id, text.id):
        assert app.handle(PublishContent(actor=creator.principal,
                                         content_id=content_id)).status == "published"


def test_another_media_owner_cannot_manage_an_item_and_learns_nothing(
        app: FakeApp, creator: Person) -> None:
    rival = app.person("rival@example.com", Role.MEDIA_OWNER)
    item = draft(app, creator)
    for command in (UpdateContent(actor=rival.principal, content_id=item.id, title="Mine"),
                    PublishContent(actor=rival.principal, content_id=item.id),
                    StartMediaUpload(actor=rival.principal, content_id=item.id,
                                     content_type="video/mp4", size=10)):
        with pytest.raises(NotFound) as error:
            app.handle(command)
        assert error.value.code == "content.not_found"
    assert app.store.content[item.id].title == "Lesson"
    # Staff manage everything.
    owner = app.person("boss@example.com", Role.PLATFORM_OWNER)
    assert app.handle(UpdateContent(actor=owner.principal, content_id=item.id,
                                    title="Renamed")).title == "Renamed"


def test_a_prerequisite_cycle_through_three_items_is_refused(
        app: FakeApp, creator: Person) -> None:
    a, b, c = (draft(app, creator, name) for name in ("A", "B", "C"))
    app.handle(SetPrerequisites(actor=creator.principal, content_id=b.id,
                                prerequisite_ids=(a.id,)))
    app.handle(SetPrerequisites(actor=creator.principal, content_id=c.id,
                                prerequisite_ids=(b.id,)))
    with pytest.raises(ValidationError) as error:
        app.handle(SetPrerequisites(actor=creator.principal, content_id=a.id,
                                    prerequisite_ids=(c.id,)))
    assert error.value.code == "content.prerequisite_cycle"
    assert set(error.value.details["cycle"]) == {str(a.id), str(b.id), str(c.id)}
    assert app.store.content[a.id].prerequisite_ids == []


def test_unknown_prerequisites_are_refused(app: FakeApp, creator: Person) -> None:
    item = draft(app, creator)
    with pytest.raises(ValidationError) as error:
        app.handle(SetPrerequisites(actor=creator.principal, content_id=item.id,
                                    prerequisite_ids=(UUID(int=999_999),)))
    assert error.value.code == "content.prerequisite_unknown"


# --------------------------------------------------------------------------- media


def test_upload_refuses_a_type_the_item_does_not_take(app: FakeApp, creator: Person) -> None:
    video = draft(app, creator)
    text = draft(app, creator, "Essay", content_type=ContentType.WRITTEN)
    for content_id, mime in ((video.id, "audio/mpeg"), (video.id, "image/png"),
                             (text.id, "video/mp4")):
        with pytest.raises(ValidationError) as error:
            app.handle(StartMediaUpload(actor=creator.principal, content_id=content_id,
                                        content_type=mime, size=10))
        assert error.value.code == "media.type_not_allowed"


def test_upload_refuses_empty_and_too_large_files(app: FakeApp, creator: Person) -> None:
    video = draft(app, creator)
    limit = app.services.config.max_upload_bytes
    for size in (0, limit + 1):
        with pytest.raises(ValidationError) as error:
            app.handle(StartMediaUpload(actor=creator.principal, content_id=video.id,
                                        content_type="video/mp4", size=size))
        assert error.value.code == "media.too_large"
    ticket = app.handle(StartMediaUpload(actor=creator.principal, content_id=video.id,
                                         content_type="video/mp4", size=limit))
    assert ticket.key.startswith(f"content/{video.id}/") and ticket.key.endswith(".mp4")


def test_confirming_an_upload_that_never_arrived_is_refused(
        app: FakeApp, creator: Person) -> None:
    video = draft(app, creator)
    ticket = app.handle(StartMediaUpload(actor=creator.principal, content_id=video.id,
                                         content_type="video/mp4", size=10))
    with pytest.raises(ValidationError) as error:
        app.handle(ConfirmMediaUpload(actor=creator.principal, content_id=video.id,
                                      key=ticket.key, duration_seconds=60))
    assert error.value.code == "media.upload_missing"
    assert app.store.content[video.id].media_key is None


def test_confirm_attaches_the_file_and_deletes_the_one_it_replaces(
        app: FakeApp, creator: Person) -> None:
    video = draft(app, creator)
    first = upload(app, creator, video.id, duration=60)
    stored = app.store.content[video.id]
    assert (stored.media_key, stored.media_duration_seconds) == (first, 60)

    second = upload(app, creator, video.id, mime="video/webm", duration=90)
    stored = app.store.content[video.id]
    assert (stored.media_key, stored.media_duration_seconds) == (second, 90)
    assert first not in app.storage.objects and second in app.storage.objects


def test_an_upload_of_the_wrong_kind_is_deleted_on_confirm(
        app: FakeApp, creator: Person) -> None:
    video = draft(app, creator)
    ticket = app.handle(StartMediaUpload(actor=creator.principal, content_id=video.id,
                                         content_type="video/mp4", size=10))
    app.storage.objects[ticket.key] = StoredObject(size=10, content_type="text/html")
    with pytest.raises(ValidationError) as error:
        app.handle(ConfirmMediaUpload(actor=creator.principal, content_id=video.id,
                                      key=ticket.key, duration_seconds=60))
    assert error.value.code == "media.upload_rejected"
    assert ticket.key not in app.storage.objects


# --------------------------------------------------------------------------- playback


def test_playback_url_only_when_access_is_allowed(
        app: FakeApp, creator: Person, customer: Person) -> None:
    video = published_video(app, creator)
    with pytest.raises(Forbidden) as error:
        app.handle(RequestPlayback(content_id=video.id, token=customer.token))
    assert error.value.code == "access.purchase_required"
    assert app.storage.signed == []

    give(app, customer, video.id)
    playback = app.handle(RequestPlayback(content_id=video.id, token=customer.token))
    assert app.storage.signed == [playback.url]
    assert playback.expires_at == app.clock.now() + app.services.config.playback_ttl
    # The grant behind the decision was marked as used.
    (grant,) = app.store.grants.values()
    assert grant.last_accessed_at == app.clock.now()


def test_the_owner_plays_their_own_paid_item(app: FakeApp, creator: Person) -> None:
    video = published_video(app, creator)
    assert app.handle(RequestPlayback(content_id=video.id, token=creator.token)).url


def test_anonymous_playback_of_a_purchased_only_item_asks_to_sign_in(
        app: FakeApp, creator: Person) -> None:
    video = published_video(app, creator)
    with pytest.raises(Unauthenticated) as error:
        app.handle(RequestPlayback(content_id=video.id))
    assert error.value.code == "access.sign_in_required"


def test_a_public_item_plays_for_anyone(app: FakeApp, creator: Person) -> None:
    video = published_video(app, creator, visibility=Visibility.PUBLIC, price=None)
    assert app.handle(RequestPlayback(content_id=video.id)).url in app.storage.signed


def test_drafts_and_deleted_items_do_not_exist_for_viewers(
        app: FakeApp, creator: Person, customer: Person) -> None:
    video = draft(app, creator, visibility=Visibility.PUBLIC)
    upload(app, creator, video.id)
    for token in (None, customer.token):
        with pytest.raises(NotFound):
            app.handle(RequestPlayback(content_id=video.id, token=token))
    with pytest.raises(NotFound):
        app.handle(RequestPlayback(content_id=UUID(int=424242), token=customer.token))
    assert app.storage.signed == []


def test_a_bad_token_is_never_treated_as_anonymous(app: FakeApp, creator: Person) -> None:
    video = published_video(app, creator, visibility=Visibility.PUBLIC, price=None)
    with pytest.raises(Unauthenticated) as error:
        app.handle(RequestPlayback(content_id=video.id, token="not-a-session"))
    assert error.value.code == "auth.invalid_session"


# --------------------------------------------------------------------------- progress


def test_completion_at_95_percent_is_sticky(
        app: FakeApp, creator: Person, customer: Person) -> None:
    video = published_video(app, creator, duration=200)
    give(app, customer, video.id)
    almost = app.handle(RecordProgress(content_id=video.id, position_seconds=189,
                                       token=customer.token))
    assert not almost.completed
    done = app.handle(RecordProgress(content_id=video.id, position_seconds=190,
                                     token=customer.token))
    assert done.completed and done.position_seconds == 190
    app.clock.advance(minutes=1)
    rewound = app.handle(RecordProgress(content_id=video.id, position_seconds=5,
                                        token=customer.token))
    assert rewound.completed and rewound.position_seconds == 5
    assert rewound.updated_at == app.clock.now()
    detail = app.handle(GetContent(slug=video.slug, token=customer.token))
    assert detail.progress is not None and detail.progress.completed


def test_progress_out_of_range_is_refused(
        app: FakeApp, creator: Person, customer: Person) -> None:
    video = published_video(app, creator, duration=100)
    give(app, customer, video.id)
    for position in (-1, 101):
        with pytest.raises(ValidationError) as error:
            app.handle(RecordProgress(content_id=video.id, position_seconds=position,
                                      token=customer.token))
        assert error.value.code == "progress.out_of_range"
    assert app.store.progress == {}


def test_progress_is_not_kept_for_written_items(
        app: FakeApp, creator: Person, customer: Person) -> None:
    essay = published_text(app, creator, "Essay", visibility=Visibility.PUBLIC)
    with pytest.raises(ValidationError) as error:
        app.handle(RecordProgress(content_id=essay.id, position_seconds=1,
                                  token=customer.token))
    assert error.value.code == "progress.not_media"


def test_progress_needs_access(app: FakeApp, creator: Person, customer: Person) -> None:
    video = published_video(app, creator)
    with pytest.raises(Forbidden) as error:
        app.handle(RecordProgress(content_id=video.id, position_seconds=1,
                                  token=customer.token))
    assert error.value.code == "access.purchase_required"


def test_prerequisites_open_once_completed(
        app: FakeApp, creator: Person, customer: Person) -> None:
    first = published_video(app, creator, "First", visibility=Visibility.PUBLIC, price=None)
    second = published_video(app, creator, "Second", visibility=Visibility.PUBLIC, price=None)
    app.handle(SetPrerequisites(actor=creator.principal, content_id=second.id,
                                prerequisite_ids=(first.id,)))
    assert app.handle(CheckAccess(content_id=second.id, token=customer.token)).reason == \
        "prerequisites_incomplete"
    app.handle(RecordProgress(content_id=first.id, position_seconds=100, token=customer.token))
    assert app.handle(CheckAccess(content_id=second.id, token=customer.token)).allowed


def test_continue_watching_drops_items_whose_grant_was_removed(
        app: FakeApp, creator: Person, customer: Person) -> None:
    kept, dropped, finished = (published_video(app, creator, name)
                               for name in ("Kept", "Dropped", "Finished"))
    for item, position in ((kept, 10), (dropped, 20), (finished, 100)):
        give(app, customer, item.id)
        app.handle(RecordProgress(content_id=item.id, position_seconds=position,
                                  token=customer.token))
        app.clock.advance(minutes=1)
    listed = app.handle(ContinueWatching(actor=customer.principal))
    assert [i.content_id for i in listed] == [dropped.id, kept.id]

    app.handle(RevokeAccess(actor=SYSTEM, email=customer.email, content_id=dropped.id))
    listed = app.handle(ContinueWatching(actor=customer.principal))
    assert [(i.content_id, i.progress.position_seconds) for i in listed] == [(kept.id, 10)]


# --------------------------------------------------------------------------- browsing


def test_browse_pages_through_every_item_exactly_once(app: FakeApp, creator: Person) -> None:
    ids = []
    for n in range(25):
        ids.append(published_text(app, creator, f"Post {n}").id)
        if n % 3 == 0:  # some share a publication time: the id breaks the tie
            app.clock.advance(minutes=1)
    hidden = [draft(app, creator, "Draft").id,
              published_text(app, creator, "Private", visibility=Visibility.PRIVATE).id]

    for sort in ("newest", "popular"):
        seen: list[UUID] = []
        pages = 0
        cursor = None
        while True:
            page = app.handle(BrowseCatalog(sort=sort, cursor=cursor, limit=10))
            seen.extend(e.id for e in page.items)
            pages += 1
            cursor = page.next_cursor
            if cursor is None:
                break
        assert pages == 3 and len(seen) == len(set(seen)) == 25
        assert set(seen) == set(ids) and not set(hidden) & set(seen)


def test_browse_orders_newest_and_popular(app: FakeApp, creator: Person) -> None:
    old = published_text(app, creator, "Old")
    app.clock.advance(hours=1)
    new = published_text(app, creator, "New")
    app.store.content[old.id].view_count = 7
    newest = app.handle(BrowseCatalog(sort="newest"))
    popular = app.handle(BrowseCatalog(sort="popular"))
    assert [e.id for e in newest.items] == [new.id, old.id]
    assert [e.id for e in popular.items] == [old.id, new.id]
    assert newest.next_cursor is None


def test_browse_filters(app: FakeApp, creator: Person) -> None:
    free = published_text(app, creator, "Free Jazz Notes", category="Music", tags=("Jazz",))
    paid = published_text(app, creator, "Paid Guide", price="5", category="craft")
    video = published_video(app, creator, "Clip", visibility=Visibility.PUBLIC, price=None)

    def ids(**filters: Any) -> list[UUID]:
        return [e.id for e in app.handle(BrowseCatalog(**filters)).items]

    assert ids(category="MUSIC") == [free.id]
    assert ids(tag="jazz") == [free.id]
    assert ids(price="paid") == [paid.id]
    assert set(ids(price="free")) == {free.id, video.id}
    assert ids(content_type=ContentType.VIDEO) == [video.id]
    assert ids(search="jAzZ") == [free.id]


def test_reading_an_item_counts_one_view_per_viewer_per_hour(
        app: FakeApp, creator: Person, customer: Person) -> None:
    essay = published_text(app, creator, "Essay", visibility=Visibility.PUBLIC)
    for _ in range(3):
        app.handle(GetContent(slug=essay.slug, token=customer.token))
    assert app.store.content[essay.id].view_count == 1
    app.clock.advance(hours=1)
    detail = app.handle(GetContent(slug=essay.slug, token=customer.token))
    assert detail.body_html and app.store.content[essay.id].view_count == 2


def test_a_paid_written_item_shows_a_preview_only(
        app: FakeApp, creator: Person, customer: Person) -> None:
    body = " ".join(f"word{i}" for i in range(200))
    essay = published_text(app, creator, "Essay", price="3", body_html=body)
    detail = app.handle(GetContent(slug=essay.slug, token=customer.token))
    assert detail.body_html is None and detail.preview
    assert body.startswith(detail.preview.removesuffix("…"))
    assert len(detail.preview) < len(body) / 4 + 1
    assert detail.access.reason == "purchase_required"
    # A short piece has no preview at all rather than a preview that is all of it.
    short = published_text(app, creator, "Haiku", price="3")
    assert app.handle(GetContent(slug=short.slug, token=customer.token)).preview is None
    # The creator's excerpt wins.
    teased = published_text(app, creator, "Teased", price="3", excerpt="It ends well.")
    assert app.handle(GetContent(slug=teased.slug,
                                 token=customer.token)).preview == "It ends well."


def test_grants_expire(app: FakeApp, creator: Person, customer: Person) -> None:
    video = published_video(app, creator)
    app.handle(GrantAccess(actor=SYSTEM, email=customer.email, content_id=video.id,
                           access_type="preview",
                           expires_at=app.clock.now() + timedelta(days=1)))
    assert app.handle(CheckAccess(content_id=video.id, token=customer.token)).reason == \
        "grant:preview"
    app.clock.advance(days=1)
    assert not app.handle(CheckAccess(content_id=video.id, token=customer.token)).allowed
