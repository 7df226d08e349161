"""Markdown with LaTeX math to safe HTML: math becomes MathML on the server, HTML in the source is text.

The pipeline, in this order:

1. cut the math segments out (``$$..$$``, ``\\[..\\]``, ``\\(..\\)``, ``$..$``) and leave
   alphanumeric placeholders, so Markdown never sees (and mangles) ``_`` or ``*`` inside math;
2. render Markdown with raw HTML disabled: ``<script>`` in a step is shown as text;
3. put the math back as MathML from latex2mathml (or as escaped source when it cannot parse);
4. sanitise the whole HTML with nh3 against an allow-list that includes MathML, so nothing
   executable survives even if a step above lets something through.

A snippet (a list row's preview of a problem) goes through the same pipeline, cut first where
no formula or escape is split, then flattened to inline elements.

Pure: no Django import. Results are memoised per text because the same steps are shown again
on every reload of a trace page.
"""
import html
import re
from functools import lru_cache

import markdown
import nh3
from latex2mathml.converter import convert as latex_to_mathml

_MATH = re.compile(
    r"(?<!\\)\$\$(?P<dd>.+?)(?<!\\)\$\$"  # $$ display $$
    r"|\\\[(?P<bd>.+?)\\\]"  # \[ display \]
    r"|\\\((?P<pi>.+?)\\\)"  # \( inline \)
    # $ inline $: not after a backslash, no space just inside the dollars, so "$5 and $6" stays text.
    r"|(?<![\\$])\$(?!\s)(?P<di>[^$\n]+?)(?<![\s\\])\$(?!\d)",
    re.DOTALL,
)
# Math is cut out before Markdown runs and put back after, behind private-use characters that
# Markdown leaves alone; they are removed from the source first, so no text can forge a token.
_TOKEN_OPEN, _TOKEN_CLOSE = "\ue000", "\ue001"
_TOKEN = _TOKEN_OPEN + "math{}" + _TOKEN_CLOSE
_TOKEN_RE = re.compile(_TOKEN_OPEN + r"math(\d+)" + _TOKEN_CLOSE)

_MATHML_TAGS = {
    "math", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace", "msup", "msub", "msubsup",
    "mfrac", "msqrt", "mroot", "mover", "munder", "munderover", "mtable", "mtr", "mtd",
    "mlabeledtr", "mstyle", "mpadded", "mphantom", "menclose", "merror", "mmultiscripts",
    "mprescripts", "none", "semantics", "annotation",
}
_MATHML_ATTRIBUTES = {
    "display", "xmlns", "mathvariant", "stretchy", "fence", "separator", "lspace", "rspace",
    "accent", "accentunder", "columnalign", "rowalign", "rowspacing", "columnspacing",
    "linethickness", "width", "height", "depth", "minsize", "maxsize", "movablelimits",
    "symmetric", "displaystyle", "scriptlevel", "encoding", "notation", "columnlines",
    "rowlines", "frame", "form", "largeop", "open", "close", "separators", "bevelled",
}
_HTML_TAGS = {
    "p", "br", "hr", "strong", "em", "b", "i", "code", "pre", "blockquote", "ul", "ol", "li",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "a",
    "span", "del", "sup", "sub",
}
_ALLOWED_TAGS = _HTML_TAGS | _MATHML_TAGS
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "span": {"class"},
    "code": {"class"},
    "th": {"align"},
    "td": {"align"},
    **{tag: _MATHML_ATTRIBUTES for tag in _MATHML_TAGS},
}


def _markdown() -> markdown.Markdown:
    md = markdown.Markdown(extensions=["fenced_code", "tables", "sane_lists"])
    # `\$` and `\%` are a literal dollar and percent sign, as in LaTeX and MathJax: math
    # datasets escape prices and percentages this way.
    md.ESCAPED_CHARS.extend(["$", "%"])
    # Raw HTML in the source is shown as text, not passed through.
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    return md


def _math_html(latex: str, *, display: bool) -> str:
    try:
        mathml = latex_to_mathml(latex.strip(), display="block" if display else "inline")
    except Exception:  # noqa: BLE001 - latex2mathml raises many types on bad input
        # Broken LaTeX is common in model output: show the source rather than nothing.
        source = html.escape(f"$${latex}$$" if display else f"${latex}$")
        return f'<code class="math-error">{source}</code>'
    return f'<span class="math-block">{mathml}</span>' if display else mathml


def render_math_markdown(text: str) -> str:
    """Return safe HTML for Markdown `text` with its LaTeX math as MathML."""
    return _render_cached(text or "")


# Step and problem texts repeat across page views; one-off texts (previews) skip this cache.
@lru_cache(maxsize=8192)
def _render_cached(text: str) -> str:
    return render_math_markdown_uncached(text)


def render_math_markdown_uncached(text: str) -> str:
    """Like render_math_markdown, without keeping the text in the process cache."""
    return nh3.clean(
        _unsanitised_html(text),
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def _unsanitised_html(text: str) -> str:
    """Return steps 1-3 of the pipeline; only for nh3.clean to take."""
    text = (text or "").replace(_TOKEN_OPEN, "").replace(_TOKEN_CLOSE, "")
    segments: list[str] = []

    def cut(match: re.Match[str]) -> str:
        display = match.group("dd") is not None or match.group("bd") is not None
        latex = next(g for g in match.group("dd", "bd", "pi", "di") if g is not None)
        segments.append(_math_html(latex, display=display))
        return _TOKEN.format(len(segments) - 1)

    protected = _MATH.sub(cut, text)
    rendered = _markdown().convert(protected)
    return _TOKEN_RE.sub(lambda m: segments[int(m.group(1))], rendered)


# A snippet keeps only inline elements: block tags are dropped (their text stays), display
# math becomes inline (no `display` attribute, no `math-block` class), links become text.
_SNIPPET_TAGS = {"strong", "em", "b", "i", "code", "del", "sup", "sub", "br"} | _MATHML_TAGS
_SNIPPET_ATTRIBUTES = {tag: _MATHML_ATTRIBUTES - {"display"} for tag in _MATHML_TAGS}
# A formula the cut would split is kept whole when it ends within this many times the limit.
_SNIPPET_MATH_SLACK = 2


def snippet_source(text: str, limit: int) -> str:
    """Return the start of `text` of about `limit` characters, with "…" when cut.

    The cut never splits a formula (a short one is kept whole, a long one dropped), a word
    (when a space is near) or a backslash escape.
    """
    text = (text or "").strip()
    if len(text) <= limit:
        return text
    split = next((m for m in _MATH.finditer(text, 0, len(text)) if m.end() > limit), None)
    if split is not None and split.start() < limit:
        cut = split.end() if split.end() <= limit * _SNIPPET_MATH_SLACK else split.start()
    else:
        space = text.rfind(" ", 0, limit + 1)
        cut = space if space > limit * 3 // 4 else limit
    head = text[:cut].rstrip()
    # A lone trailing backslash would escape the ellipsis or show as text.
    head = re.sub(r"(?<!\\)(\\\\)*\\$", lambda m: m.group(0)[:-1], head).rstrip()
    return f"{head} …" if head else "…"


def render_math_markdown_snippet(text: str, limit: int) -> str:
    """Return safe inline HTML for the first `limit` or so characters of Markdown `text`."""
    # One sanitising pass, with the snippet's narrower allow-list (no links, so no URLs).
    unsafe = _unsanitised_html(snippet_source(text, limit))
    flat = nh3.clean(unsafe, tags=_SNIPPET_TAGS, attributes=_SNIPPET_ATTRIBUTES)
    return " ".join(flat.split())
