from __future__ import annotations

import enum


class Role(enum.StrEnum):
    PLATFORM_CREATOR = "platform_creator"
    PLATFORM_OWNER = "platform_owner"
    MEDIA_OWNER = "media_owner"
    CUSTOMER = "customer"
    # What each role may do is the permission matrix: domain/identity/permissions.py.
