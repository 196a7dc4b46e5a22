"""The HTML sanitiser port: what a writer submits is cleaned before it is stored."""

from __future__ import annotations

from typing import Protocol


class HtmlSanitizer(Protocol):
    def clean(self, html: str) -> str:
        """Keep formatting markup, drop scripts, event handlers and dangerous URLs."""
        ...

    def excerpt(self, html: str, limit: int) -> str:
        """Plain text of the first ``limit`` characters, for previews."""
        ...
