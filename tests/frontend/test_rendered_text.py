"""frontend.rendered_text: rendered HTML shared through the cache."""
import pytest
from django.core.cache import cache

from frontend import rendered_text
from frontend.rendered_text import rendered_html_many, snippet_html_many


def _forget():
    cache.clear()
    rendered_text._local.clear()


def test_each_text_is_rendered_once_and_then_served_from_the_cache(monkeypatch):
    _forget()
    calls = []

    def counting(text):
        calls.append(text)
        return f"<p>{text}</p>"

    monkeypatch.setattr(rendered_text, "render_math_markdown", counting)
    first = rendered_html_many(["a", "b", "a"])
    second = rendered_html_many(["b", "a"])
    assert [str(x) for x in first] == ["<p>a</p>", "<p>b</p>", "<p>a</p>"]
    assert [str(x) for x in second] == ["<p>b</p>", "<p>a</p>"]
    assert calls == ["a", "b"]


def test_another_worker_reuses_html_from_the_shared_cache(monkeypatch):
    _forget()
    rendered_html_many(["shared text"])
    rendered_text._local.clear()  # a different process: nothing in its memory
    monkeypatch.setattr(rendered_text, "render_math_markdown", lambda text: pytest.fail("rendered again"))
    assert "shared text" in rendered_html_many(["shared text"])[0]


def test_cached_html_is_the_sanitised_rendering():
    _forget()
    (html,) = rendered_html_many(["<script>alert(1)</script> $x^2$"])
    assert "&lt;script&gt;" in html and "<msup>" in html
    (again,) = rendered_html_many(["<script>alert(1)</script> $x^2$"])
    assert again == html


def test_snippets_are_cached_apart_from_full_texts(monkeypatch):
    _forget()
    text = r"Find $\frac{1}{2}$ of " + "a very long problem " * 20
    (full,) = rendered_html_many([text])
    (snippet,) = snippet_html_many([text], 40)
    assert "<p>" in full and "<p>" not in snippet and snippet.endswith("…")
    monkeypatch.setattr(rendered_text, "render_math_markdown_snippet",
                        lambda text, limit: pytest.fail("rendered again"))
    assert snippet_html_many([text], 40) == [snippet]
