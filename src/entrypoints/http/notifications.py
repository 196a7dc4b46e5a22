"""/api/v1/me/notifications and /api/v1/me/notification-preferences."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Response, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from application.notifications.inbox import (
    GetNotificationPreferences,
    ListNotifications,
    MarkAllNotificationsRead,
    MarkNotificationRead,
    Preference,
    SetNotificationPreferences,
    UnreadNotifications,
)
from domain.notifications.kinds import Notification
from entrypoints.http.auth import SECURED
from entrypoints.http.dependencies import Actor, App
from entrypoints.http.openapi import AUTHENTICATED
from entrypoints.http.schemas.notifications import (
    InboxOut,
    MarkedOut,
    NotificationOut,
    PreferenceOut,
    PreferencesBody,
    UnreadOut,
)

NO_STORE = {"Cache-Control": "private, no-store"}


def note_out(n: Notification) -> NotificationOut:
    return NotificationOut(id=n.id, kind=n.kind.value, title=n.title, message=n.message,
                           action_url=n.action_url, action_label=n.action_label,
                           read_at=n.read_at, created_at=n.created_at)


def prefs_out(prefs: list[Preference]) -> list[PreferenceOut]:
    return [PreferenceOut(kind=p.kind.value, channel=p.channel.value,
                          email_required=p.email_required) for p in prefs]


class MyNotificationsController(Controller):
    path = "/api/v1/me"
    tags = ["notifications"]
    security = SECURED

    @get("/notifications", sync_to_thread=True, responses=AUTHENTICATED)
    def inbox(
        self, actor: Actor, patronage: App,
        cursor: FromQuery[Annotated[str | None, Parameter(max_length=200)]] = None,
        limit: FromQuery[Annotated[int, Parameter(ge=1, le=100)]] = 20,
    ) -> Response[InboxOut]:
        """Your notifications: unread first, newest first, with the unread count."""
        page = patronage.handle(ListNotifications(actor=actor, cursor=cursor, limit=limit))
        return Response(InboxOut(notifications=[note_out(n) for n in page.notifications],
                                 unread=page.unread, next_cursor=page.next_cursor),
                        headers=NO_STORE)

    @get("/notifications/unread-count", sync_to_thread=True, responses=AUTHENTICATED)
    def unread(self, actor: Actor, patronage: App) -> Response[UnreadOut]:
        """How many are unread (the badge)."""
        return Response(UnreadOut(unread=patronage.handle(UnreadNotifications(actor=actor))),
                        headers=NO_STORE)

    @post("/notifications/{notification_id:uuid}/read", status_code=200, sync_to_thread=True,
          responses=AUTHENTICATED)
    def mark_read(self, notification_id: FromPath[UUID], actor: Actor, patronage: App
                  ) -> UnreadOut:
        """Mark one read (again is fine); answers how many are still unread."""
        return UnreadOut(unread=patronage.handle(MarkNotificationRead(
            actor=actor, notification_id=notification_id)))

    @post("/notifications/read-all", status_code=200, sync_to_thread=True,
          responses=AUTHENTICATED)
    def mark_all(self, actor: Actor, patronage: App) -> MarkedOut:
        """Mark every one read."""
        marked = patronage.handle(MarkAllNotificationsRead(actor=actor))
        return MarkedOut(marked=marked, unread=0)

    @get("/notification-preferences", sync_to_thread=True, responses=AUTHENTICATED)
    def preferences(self, actor: Actor, patronage: App) -> list[PreferenceOut]:
        """Where you are told of each kind: in_app, email, both (the default) or none."""
        return prefs_out(patronage.handle(GetNotificationPreferences(actor=actor)))

    @put("/notification-preferences", sync_to_thread=True, responses=AUTHENTICATED)
    def set_preferences(self, data: JSONBody[PreferencesBody], actor: Actor, patronage: App
                        ) -> list[PreferenceOut]:
        """Change the kinds named (all apply, or none). Kinds whose email is required
        take only email or both (422 `notifications.email_required`)."""
        return prefs_out(patronage.handle(SetNotificationPreferences(actor=actor,
                                                                     changes=data)))
