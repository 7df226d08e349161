"""Rendered Markdown + math, memoised in the process and shared through Django's cache.

Two layers: a bounded in-process map (no round trip for texts this worker showed before)
in front of the shared cache (Redis in production: one worker renders a text, the others
reuse it, with one round trip for all the texts of a page). Full texts and list snippets are
kept under separate keys.
"""
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable

from django.core.cache import cache
from django.utils.safestring import SafeString, mark_safe

from frontend.rendering import render_math_markdown, render_math_markdown_snippet

# Bump when the rendering pipeline changes, so stale HTML is never served.
_VERSION = "r3"
_TIMEOUT = 7 * 24 * 3600
_LOCAL_MAX = 20_000
_local: "OrderedDict[str, str]" = OrderedDict()
_local_lock = threading.Lock()


def _key(kind: str, text: str) -> str:
    return f"md:{_VERSION}:{kind}:{hashlib.blake2b(text.encode(), digest_size=16).hexdigest()}"


def _remember(items: dict[str, str]) -> None:
    with _local_lock:
        _local.update(items)
        while len(_local) > _LOCAL_MAX:
            _local.popitem(last=False)


def _html_many(texts: list[str], kind: str, render: Callable[[str], str]) -> list[SafeString]:
    """Return `render(text)` for each text, calling it only for what neither layer holds."""
    keys = [_key(kind, t) for t in texts]
    with _local_lock:
        found = {k: _local[k] for k in keys if k in _local}
    absent = {k for k in keys if k not in found}
    if absent:
        shared = cache.get_many(absent)
        found.update(shared)
        _remember(shared)
    rendered: dict[str, str] = {}
    out: list[SafeString] = []
    for text, key in zip(texts, keys, strict=True):
        html = found.get(key)
        if html is None:
            html = rendered.get(key)
            if html is None:
                html = rendered[key] = render(text)
        out.append(mark_safe(html))  # noqa: S308 - sanitised by nh3 in frontend.rendering
    if rendered:
        cache.set_many(rendered, timeout=_TIMEOUT)
        _remember(rendered)
    return out


def rendered_html_many(texts: list[str]) -> list[SafeString]:
    """Return safe HTML for each text, rendering only what neither layer holds.

    The HTML comes from frontend.rendering (Markdown, MathML, nh3 allow-list), so marking
    it safe is sound; keys are a hash of the source text.
    """
    # Looked up at call time, so tests can count the renderings.
    return _html_many(texts, "full", lambda text: render_math_markdown(text))


def snippet_html_many(texts: list[str], limit: int) -> list[SafeString]:
    """Return safe inline HTML of the first `limit` or so characters of each text (list rows)."""
    return _html_many(
        texts, f"snippet{limit}", lambda text: render_math_markdown_snippet(text, limit)
    )
