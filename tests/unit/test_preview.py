"""The preview of a written item: bounded, never the whole item, HTML-safe."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from adapters.html.nh3_sanitizer import Nh3Sanitizer
from domain.catalog.preview import PREVIEW_MAX_CHARS, PREVIEW_MAX_SHARE, preview_of

words = st.lists(st.text(alphabet="abcdefghij<>&\"' ", min_size=1, max_size=12),
                 min_size=0, max_size=300).map(" ".join)


@given(words)
def test_a_preview_is_never_the_whole_text_and_never_past_its_share(text: str) -> None:
    preview = preview_of(None, text)
    if preview is None:
        return
    shown = preview.removesuffix("…").replace("&lt;", "<").replace("&gt;", ">").replace(
        "&amp;", "&")
    body = " ".join(text.split())
    assert body.startswith(shown)
    assert len(shown) <= min(PREVIEW_MAX_CHARS, len(body) * PREVIEW_MAX_SHARE)
    assert len(shown) < len(body)


def test_a_short_item_gets_no_preview_rather_than_its_whole_text() -> None:
    assert preview_of(None, "A twelve word paid poem that would otherwise be given away.") is None


def test_the_creators_excerpt_is_used_when_there_is_one() -> None:
    assert preview_of("  Read on  for the twist. ", "x " * 1000) == "Read on for the twist."


def test_markup_stays_escaped() -> None:
    # What the sanitiser escaped in the body must not come back as live markup.
    body = Nh3Sanitizer().clean("<p>" + "&lt;img src=x onerror=alert(1)&gt; " * 40 + "</p>")
    preview = preview_of(None, Nh3Sanitizer().plain_text(body))
    assert preview is not None
    assert "<" not in preview and ">" not in preview
    assert "&lt;img src=x onerror=alert(1)&gt;" in preview
    assert preview_of("<b>bold</b> & more", "") == "&lt;b&gt;bold&lt;/b&gt; &amp; more"
