"""Creators' custom CSS: what survives the sanitiser, and what never does."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.css.sanitizer import TinyCssSanitizer

clean = TinyCssSanitizer().clean


@pytest.mark.parametrize(("css", "kept"), [
    ("h1 { color: red; margin: 0 }", "h1 { color: red; margin: 0 }"),
    ("a:hover{color:#3b82f6!important}", "a:hover { color: #3b82f6 !important }"),
    (".hero { background: url(/media/hero.png) center / cover }",
     ".hero { background: url(/media/hero.png) center / cover }"),
    ("svg { filter: url(#blur) }", "svg { filter: url(#blur) }"),
    ("@media (max-width: 600px) { h1 { font-size: 2rem } }",
     "@media (max-width: 600px) {\nh1 { font-size: 2rem }\n}"),
    ("@supports (display: grid) { main { display: grid } }",
     "@supports (display: grid) {\nmain { display: grid }\n}"),
    ("@keyframes pulse { from { opacity: 1 } to { opacity: .5 } }",
     "@keyframes pulse {\nfrom { opacity: 1 }\nto { opacity: .5 }\n}"),
    ("/* a comment */ p { color: blue }", "p { color: blue }"),
])
def test_ordinary_styles_survive(css: str, kept: str) -> None:
    assert clean(css) == kept


@pytest.mark.parametrize("css", [
    "@import url(https://evil.example/x.css);",
    "@import 'https://evil.example/x.css';",
    "@font-face { font-family: X; src: url(/f.woff) }",
    "@namespace svg url(http://www.w3.org/2000/svg);",
    "@charset 'utf-8';",
    "p { background: url(https://evil.example/pixel.png) }",
    "p { background: url('https://evil.example/pixel.png') }",
    "p { background: url(//evil.example/pixel.png) }",
    "p { background: url(/\\\\evil.example/pixel.png) }",
    "p { background: url(data:image/png;base64,AAAA) }",
    "p { background: url(javascript:alert(1)) }",
    "p { background-image: image-set('https://evil.example/a.png' 1x) }",
    "p { background-image: -webkit-image-set(url(https://evil.example/a.png) 1x) }",
    "p { width: expression(alert(1)) }",
    "p { width: eXpReSsIoN(alert(1)) }",
    "p { behavior: url(/x.htc) }",
    "p { -moz-binding: url(/x.xml#b) }",
    "p { background: u\\72l(https://evil.example/escaped.png) }",
    "p { content: 'javascript:alert(1)' }",
    "@media print { p { background: url(https://evil.example/print.png) } }",
    "garbage {{{",
])
def test_what_reaches_elsewhere_or_runs_script_is_dropped(css: str) -> None:
    assert clean(css) == ""


def test_a_bad_declaration_goes_and_its_neighbours_stay() -> None:
    assert clean("p { color: red; background: url(https://evil.example/x); margin: 1px }") \
        == "p { color: red; margin: 1px }"


@pytest.mark.parametrize("css", [
    "p::after { content: '</style><script>alert(1)</script>' }",
    "p { font-family: '<\\/style>' }",
    "p::before { content: '\\3c/style>' }",
])
def test_nothing_closes_the_style_element(css: str) -> None:
    assert "<" not in clean(css)


@given(st.text(max_size=300))
def test_whatever_is_given_no_other_origin_and_no_markup_comes_out(css: str) -> None:
    out = clean(css)
    assert "<" not in out
    lowered = out.lower()
    assert "@import" not in lowered and "expression(" not in lowered
    assert "url(http" not in lowered and "url(//" not in lowered


def test_cleaning_twice_changes_nothing() -> None:
    css = ("@media (min-width: 40em) { .a { color: red } .b { background: url(x://y) } }\n"
           "h1 { letter-spacing: .02em }")
    assert clean(clean(css)) == clean(css)
