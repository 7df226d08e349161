"""Markdown to sanitised HTML for guidelines and step texts (minimal version)."""
import markdown
import nh3


def render_markdown(text: str) -> str:
    """Return `text` rendered from Markdown and cleaned of any unsafe HTML."""
    html = markdown.markdown(text or "", extensions=["fenced_code", "tables"])
    return nh3.clean(html)
