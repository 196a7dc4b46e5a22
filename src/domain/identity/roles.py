from __future__ import annotations

import enum


class Role(enum.StrEnum):
    PLATFORM_CREATOR = "platform_creator"
    PLATFORM_OWNER = "platform_owner"
    MEDIA_OWNER = "media_owner"
    CUSTOMER = "customer"

    @property
    def is_staff(self) -> bool:
        """Roles that administer the platform itself."""
        return self in (Role.PLATFORM_CREATOR, Role.PLATFORM_OWNER)

    @property
    def can_publish(self) -> bool:
        return self is not Role.CUSTOMER
