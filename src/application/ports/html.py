"""The HTML sanitiser port: what a writer submits is cleaned before it is stored."""

from __future__ import annotations

from typing import Protocol


class HtmlSanitizer(Protocol):
    def clean(self, html: str) -> str:
        """Keep formatting markup, drop scripts, event handlers and dangerous URLs."""
        ...

    def plain_text(self, html: str) -> str:
        """The visible text of sanitised HTML, entities decoded, whitespace collapsed."""
        ...
