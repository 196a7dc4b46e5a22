"""What a reader without access sees of a written item: never the whole of it.

The creator's excerpt when there is one; otherwise the opening words, at most
`PREVIEW_MAX_CHARS` and at most `PREVIEW_MAX_SHARE` of the body's text, so that a short
paid piece is not given away whole. The result is HTML-safe text: `&`, `<` and `>` are
entities, so markup the sanitiser had escaped stays escaped wherever a client puts it.
"""

from __future__ import annotations

import html

PREVIEW_MAX_CHARS = 400
PREVIEW_MAX_SHARE = 0.25  # of the body's visible text
PREVIEW_MIN_CHARS = 20  # below this, a share of the body says nothing: no preview


def preview_of(excerpt: str | None, body_text: str) -> str | None:
    """The preview as HTML-safe text, or None when nothing may be shown."""
    if excerpt and excerpt.strip():
        return html.escape(" ".join(excerpt.split()), quote=False)
    text = " ".join(body_text.split())
    limit = min(PREVIEW_MAX_CHARS, int(len(text) * PREVIEW_MAX_SHARE))
    if limit < PREVIEW_MIN_CHARS:
        return None
    cut = text[:limit]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return html.escape(cut, quote=False) + "…"
