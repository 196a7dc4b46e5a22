"""Ammonia (through nh3): an allow-list HTML sanitiser, so no script reaches a reader."""

from __future__ import annotations

import html

import nh3

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "em", "figcaption", "figure", "h2", "h3",
    "h4", "h5", "h6", "hr", "i", "img", "li", "mark", "ol", "p", "pre", "s", "small", "strong",
    "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "u", "ul",
}
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "ol": {"start"},
}


class Nh3Sanitizer:
    def clean(self, html_text: str) -> str:
        return nh3.clean(
            html_text, tags=_TAGS, attributes=_ATTRIBUTES,
            url_schemes={"http", "https", "mailto"},
            link_rel="noopener noreferrer nofollow",
            strip_comments=True,
        )

    def plain_text(self, html_text: str) -> str:
        # Stripping every tag leaves escaped text; decode it. Whoever shows this as HTML
        # must escape it again (the preview rule does).
        text = html.unescape(nh3.clean(html_text, tags=set()))
        return " ".join(text.split())
