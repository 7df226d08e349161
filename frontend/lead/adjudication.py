"""Adjudication pages: traces ranked by disagreement, and one trace side by side for gold."""
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from frontend.lead.access import lead_page
from frontend.rendered_text import rendered_html_many, snippet_html_many
from labeling.errors import NotFound
from labeling.models import Project
from labeling.selectors.adjudication import (
    STATUSES,
    disputed_traces_for_project,
    trace_adjudication_for_lead,
)

PER_PAGE = 50
# Characters of a problem shown in its list row (rendered: math as MathML, `\$` as `$`).
SNIPPET_CHARS = 140


def _int(value: str | None, default: int) -> int:
    try:
        return max(1, int(value or default))
    except ValueError:
        return default


@lead_page
def adjudication_list(request: HttpRequest, project: Project) -> HttpResponse:
    """List traces with disputed steps, most disputed first, 50 a page."""
    status = request.GET.get("status", "open")
    if status not in STATUSES:
        status = "open"
    result = disputed_traces_for_project(
        project=project, page=_int(request.GET.get("page"), 1), per_page=PER_PAGE, status=status
    )
    # Snippets are cached like step texts: one cache round trip for the page, no query.
    snippets = snippet_html_many([row.problem for row in result.rows], SNIPPET_CHARS)
    return render(request, "frontend/lead/adjudication_list.html", {
        "project": project, "lead_tab": "adjudication", "result": result, "status": status,
        "rows": list(zip(result.rows, snippets, strict=True)),
        "rank_offset": (result.page - 1) * result.per_page,
    })


@lead_page
def adjudication_trace(request: HttpRequest, project: Project, trace_id: int) -> HttpResponse:
    """Show one trace's steps with each annotator's label and rationale, and the gold column."""
    try:
        view = trace_adjudication_for_lead(project=project, trace_id=trace_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    # The same shared cache as the annotator's page: these texts are usually rendered already.
    problem_html, *step_htmls = rendered_html_many([view.trace.problem, *(r.step.text for r in view.rows)])
    steps = list(zip(view.rows, step_htmls, strict=True))
    categories = [
        {"key": c.key, "name": c.name, "hotkey": c.hotkey, "colour": c.colour,
         "polarity": c.polarity, "parent": c.parent.key if c.parent else None}
        for c in view.categories
    ]
    return render(request, "frontend/lead/adjudication_trace.html", {
        "project": project, "lead_tab": "adjudication", "view": view, "steps": steps,
        "problem_html": problem_html, "categories": categories,
        "open_count": sum(1 for row in view.rows if row.is_disputed and row.gold is None),
        "gold_missing_count": sum(1 for row in view.rows if row.gold is None),
    })
