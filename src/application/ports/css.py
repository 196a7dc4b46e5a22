"""Sanitising creators' custom CSS."""

from __future__ import annotations

from typing import Protocol


class CssSanitizer(Protocol):
    def clean(self, css: str) -> str:
        """Only style rules (and @media, @supports, @keyframes around them) whose values
        reach no other origin; no @import, no expression(), no way out of <style>."""
        ...
