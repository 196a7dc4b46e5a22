"""Creators' custom CSS, made safe to serve, on tinycss2's parser.

The CSS is parsed the way browsers parse it (escapes decoded, comments gone), and only
what is known to be harmless is written back:

* style rules, and @media, @supports and @keyframes around them; every other at-rule
  goes (@import loads other sheets, @font-face and @namespace fetch URLs, @charset
  is meaningless inside a page);
* declarations whose values reach no other origin: url(), image-set() and friends may
  only name this site's own paths ("/media/x.png", "#filter"), never another host,
  a protocol-relative "//host", "data:" or "javascript:";
* no legacy script hooks: expression(), behavior, -moz-binding;
* and no way out of the <style> element: "<" is written as the CSS escape "\\3c ".

What goes is dropped silently, rule by rule or declaration by declaration: the rest of
the sheet still applies.
"""

from __future__ import annotations

import tinycss2
from tinycss2.ast import (
    AtRule,
    CurlyBracketsBlock,
    Declaration,
    FunctionBlock,
    Node,
    ParenthesesBlock,
    ParseError,
    QualifiedRule,
    SquareBracketsBlock,
    StringToken,
    URLToken,
)

NESTING = {"media", "supports"}
KEYFRAMES = {"keyframes", "-webkit-keyframes"}
# Functions whose string arguments are URLs.
URL_FUNCTIONS = {"url", "src", "image-set", "-webkit-image-set", "image", "cross-fade"}
SCRIPT_PROPERTIES = {"behavior", "-moz-binding", "-ms-behavior"}
MAX_DEPTH = 8


def _same_origin(url: str) -> bool:
    target = url.strip()
    if target.startswith("#"):
        return True
    return (target.startswith("/") and not target.startswith(("//", "/\\"))
            and "\\" not in target)


def _children(node: Node) -> list[Node]:
    if isinstance(node, FunctionBlock):
        return node.arguments
    if isinstance(node, ParenthesesBlock | SquareBracketsBlock | CurlyBracketsBlock):
        return node.content
    return []


def _safe_value(nodes: list[Node], in_url_function: bool = False) -> bool:
    for node in nodes:
        if isinstance(node, ParseError):
            return False  # a bad url(...) and the like: browsers drop it, so do we
        if isinstance(node, URLToken) and not _same_origin(node.value):
            return False
        if isinstance(node, StringToken):
            lowered = node.value.lower()
            if in_url_function and not _same_origin(node.value):
                return False
            if "javascript:" in lowered or "expression(" in lowered:
                return False
        if isinstance(node, FunctionBlock):
            if "expression" in node.lower_name:
                return False
            if not _safe_value(node.arguments, node.lower_name in URL_FUNCTIONS):
                return False
        elif not _safe_value(_children(node), in_url_function):
            return False
    return True


def _declarations(content: list[Node]) -> str:
    kept = []
    for item in tinycss2.parse_declaration_list(content, skip_comments=True,
                                                skip_whitespace=True):
        if not isinstance(item, Declaration) or item.lower_name in SCRIPT_PROPERTIES:
            continue
        if not _safe_value(item.value):
            continue
        value = tinycss2.serialize(item.value).strip()
        kept.append(f"{item.name}: {value}{' !important' if item.important else ''}")
    return "; ".join(kept)


def _rules(nodes: list[Node], depth: int) -> list[str]:
    out: list[str] = []
    if depth > MAX_DEPTH:
        return out
    for node in nodes:
        if isinstance(node, QualifiedRule):
            if not _safe_value(node.prelude):
                continue
            body = _declarations(node.content)
            if body:
                out.append(f"{tinycss2.serialize(node.prelude).strip()} {{ {body} }}")
        elif isinstance(node, AtRule) and node.content is not None:
            name = node.lower_at_keyword
            if name not in NESTING | KEYFRAMES or not _safe_value(node.prelude):
                continue
            inner = tinycss2.parse_rule_list(node.content, skip_comments=True,
                                             skip_whitespace=True)
            nested = _rules(inner, depth + 1)
            if not nested:
                continue
            prelude = tinycss2.serialize(node.prelude).strip()
            out.append(f"@{name} {prelude} {{\n" + "\n".join(nested) + "\n}")
    return out


class TinyCssSanitizer:
    def clean(self, css: str) -> str:
        sheet = tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True)
        return "\n".join(_rules(sheet, 0)).replace("<", "\\3c ")
