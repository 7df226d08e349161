"""frontend.rendering: Markdown + LaTeX to safe HTML (pure, no database)."""
from html.parser import HTMLParser

import pytest

from frontend.rendering import render_math_markdown, render_math_markdown_snippet, snippet_source

XSS_VECTORS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "[click](javascript:alert(1))",
    "<svg onload=alert(1)>",
    '<iframe src="https://evil.example"></iframe>',
    "$<script>alert(1)</script>$",
    r"$$\href{javascript:alert(1)}{x}$$",
    '<math><mtext><img src=x onerror=alert(1)></mtext></math>',
    "```\n<script>alert(1)</script>\n```",
]


class _ElementCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))


def _elements(html_text: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _ElementCollector()
    parser.feed(html_text)
    return parser.elements


@pytest.mark.parametrize("source", XSS_VECTORS)
def test_no_executable_html_survives(source):
    """Whatever the input, the output holds no script-capable element, handler or URL."""
    for tag, attrs in _elements(render_math_markdown(source)):
        assert tag not in {"script", "img", "svg", "iframe", "object", "embed", "style"}
        assert not any(name.startswith("on") for name in attrs)
        assert not (attrs.get("href") or "").lower().startswith("javascript")


def test_script_tag_is_shown_as_text():
    out = render_math_markdown("Say <script>alert(1)</script> now")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out


def test_img_onerror_is_shown_as_text():
    out = render_math_markdown("<img src=x onerror=alert(1)>")
    assert "&lt;img src=x onerror=alert(1)&gt;" in out


def test_inline_dollar_math_becomes_mathml():
    out = render_math_markdown(r"So $\frac{a}{b}$ holds.")
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline">' in out
    assert "<mfrac>" in out
    assert "So " in out and " holds." in out


@pytest.mark.parametrize(
    "source", [r"$$x^2$$", r"\[x^2\]"],
)
def test_display_math_becomes_block_mathml(source):
    out = render_math_markdown(source)
    assert 'display="block"' in out
    assert "<msup>" in out


def test_paren_math_is_inline():
    out = render_math_markdown(r"Let \(x_1 + x_2\) be")
    assert 'display="inline"' in out
    assert "<msub>" in out


def test_underscores_inside_math_are_not_emphasis():
    out = render_math_markdown(r"$a_1 + b_2$ and $c_3$")
    assert "<em>" not in out
    assert out.count("<msub>") == 3


def test_dollar_amounts_stay_text():
    out = render_math_markdown("It costs $5 and $6 in total.")
    assert "<math" not in out
    assert "$5 and $6" in out


def test_escaped_dollar_is_not_math():
    out = render_math_markdown(r"Price \$3 or \$4")
    assert "<math" not in out


def test_escaped_dollar_and_percent_show_plain_outside_code():
    out = render_math_markdown(r"Price \$3 or \$4 at 10\% off, written `\$3`")
    assert "Price $3 or $4 at 10% off" in out and "<code>\\$3</code>" in out


def test_markdown_renders_emphasis_lists_and_code():
    out = render_math_markdown("**bold** and *it*\n\n- one\n- two\n\n`a<b`")
    assert "<strong>bold</strong>" in out
    assert "<em>it</em>" in out
    assert "<li>one</li>" in out
    assert "<code>a&lt;b</code>" in out


def test_broken_latex_is_shown_as_source_not_lost():
    out = render_math_markdown(r"$\frac{a}{$ end")
    assert "end" in out
    assert "<script" not in out


def test_links_get_safe_rel():
    out = render_math_markdown("[doc](https://example.org)")
    assert 'href="https://example.org"' in out
    assert "noopener" in out


def test_empty_text_renders_empty():
    assert render_math_markdown("") == ""


def test_a_token_lookalike_in_the_source_is_left_as_text():
    """Text that looks like an internal math placeholder neither crashes nor pulls in math."""
    html = render_math_markdown("\ue000math7\ue001 and $x$ then \ue000math0\ue001, qmathtok0z")
    assert "math7" in html and "qmathtok0z" in html
    assert html.count("<math") == 1


# Snippets: the start of a problem in a list row, rendered inline.
LONG_PROBLEM = (
    r"A pen costs \$5. If $\frac{1}{2}x + 3 = 11$, how many pens can one buy with $x$ dollars"
    r" when the shop gives $$\sum_{i=1}^{n} i = \frac{n(n+1)}{2}$$ pens free? Answer in words."
)


def test_short_snippet_source_is_the_whole_text():
    assert snippet_source("  Find $x$.  ", 140) == "Find $x$."


@pytest.mark.parametrize("limit", range(10, len(LONG_PROBLEM), 7))
def test_snippet_cut_never_splits_a_formula_or_an_escape(limit):
    """Every formula of the snippet is a whole formula of the text, and it ends with "…"."""
    snippet = snippet_source(LONG_PROBLEM, limit)
    head = snippet.removesuffix(" …")
    assert snippet.endswith("…") and LONG_PROBLEM.startswith(head)
    assert head.count("$") % 2 == (1 if "\\$5" in head else 0)  # escaped dollar is no delimiter
    assert not head.endswith("\\")
    assert len(head) <= limit * 2


def test_snippet_drops_a_formula_too_long_to_keep():
    text = "Show that $" + " + ".join(f"x_{{{i}}}" for i in range(200)) + "$ is even."
    assert snippet_source(text, 40) == "Show that …"


def test_snippet_cuts_between_words():
    assert snippet_source("one two three four five six", 17) == "one two three …"


def test_snippet_renders_math_inline_and_dollars_plain():
    html = render_math_markdown_snippet(LONG_PROBLEM, 140)
    assert "A pen costs $5." in html and "\\frac" not in html and "\\$" not in html
    assert html.count("<math") == 3 and 'display="' not in html and "math-block" not in html
    assert html.endswith("…")


def test_snippet_keeps_no_block_element():
    html = render_math_markdown_snippet("# Title\n\nSome *text*\n\n- a\n- b", 140)
    assert html == "Title Some <em>text</em> a b"


@pytest.mark.parametrize("source", XSS_VECTORS)
def test_no_executable_html_survives_in_a_snippet(source):
    for tag, attrs in _elements(render_math_markdown_snippet(source, 140)):
        assert tag not in {"script", "img", "svg", "iframe", "object", "embed", "style", "a"}
        assert not any(name.startswith("on") for name in attrs)


def test_snippet_shows_html_in_the_text_as_text():
    html = render_math_markdown_snippet("<script>alert(1)</script> <img src=x onerror=alert(2)>", 140)
    assert html == "&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(2)&gt;"
