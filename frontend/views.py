"""Pages: each view loads what it shows through labeling selectors and renders a template."""
import time

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST

from frontend.rendered_text import rendered_html_many
from labeling.models import Assignment, Membership, Project
from labeling.selectors.progress import project_progress_for_annotator
from labeling.selectors.traces import assignment_for_annotator_get, trace_page_for_annotator
from labeling.services.queue import assignment_next_for_annotator

LABELLING_ROLES = {Membership.Role.ANNOTATOR, Membership.Role.LEAD}


def _membership_or_404(request, slug: str) -> Membership:
    """Return the caller's membership of the project; 404 for non-members, like the API."""
    membership = (
        Membership.objects.select_related("project__taxonomy_version")
        .filter(project__slug=slug, user=request.user)
        .first()
    )
    if membership is None:
        raise Http404("No such project.")
    return membership


def _labeller_project(request, slug: str) -> Project:
    membership = _membership_or_404(request, slug)
    if membership.role not in LABELLING_ROLES:
        raise PermissionDenied("Only annotators and leads label traces.")
    return membership.project


@login_required
def home(request):
    """List the caller's projects with their own progress in each."""
    rows = project_progress_for_annotator(user=request.user)
    return render(
        request,
        "frontend/home.html",
        {"rows": rows, "labelling_roles": LABELLING_ROLES},
    )


@login_required
@require_POST
def labeling_start(request, slug: str):
    """Open my in-progress trace, or take the next one from the queue."""
    project = _labeller_project(request, slug)
    assignment = assignment_next_for_annotator(project=project, annotator=request.user)
    if assignment is None:
        messages.info(request, f"Nothing left to label in {project.name}. Thank you!")
        return redirect("frontend:home")
    return redirect("frontend:trace", slug=slug, trace_id=assignment.trace_id)


@login_required
def trace(request, slug: str, trace_id: int):
    """The annotator workspace for one trace; only the annotator it is assigned to sees it."""
    started = time.perf_counter()
    project = _labeller_project(request, slug)
    assignment = assignment_for_annotator_get(project=project, annotator=request.user, trace_id=trace_id)
    if assignment is None:
        raise Http404("This trace is not assigned to you.")
    assignment.annotator = request.user
    page = trace_page_for_annotator(project=project, assignment=assignment)
    trace_obj = assignment.trace
    texts = [trace_obj.problem, trace_obj.final_answer, trace_obj.ground_truth_answer, project.guidelines]
    texts += [s.text for s in page.steps]
    problem_html, final_html, truth_html, guidelines_html, *step_htmls = rendered_html_many(texts)
    # Strings, not ints: the template engine localises numbers, which costs at 50 steps.
    steps = [
        {"index": str(s.index), "number": str(s.index + 1), "html": html}
        for s, html in zip(page.steps, step_htmls, strict=True)
    ]
    parents = [c for c in page.categories if c.parent_id is None]
    key_of = {c.pk: c.key for c in parents}
    children: dict[int, list] = {}
    for c in page.categories:
        if c.parent_id is not None:
            children.setdefault(c.parent_id, []).append(c)
    taxonomy = [{"category": p, "children": children.get(p.pk, [])} for p in parents]
    # Every step carries the same buttons: render them once instead of fifty times.
    controls_html = render_to_string("frontend/_step_controls.html", {"taxonomy": taxonomy})
    workspace = {
        "assignmentId": assignment.pk,
        "traceId": trace_obj.pk,
        "state": assignment.state,
        "isEditable": assignment.state == Assignment.State.IN_PROGRESS,
        "isFirstErrorMode": project.labeling_mode == Project.LabelingMode.FIRST_ERROR,
        "stepCount": len(steps),
        "secondsSpent": assignment.seconds_spent,
        "categories": [
            {
                "key": c.key, "name": c.name, "polarity": c.polarity, "hotkey": c.hotkey,
                "colour": c.colour, "parent": key_of.get(c.parent_id),
                "rationaleRequired": c.is_rationale_required,
            }
            for c in page.categories
        ],
        "labels": {
            str(i): {"category": lab.category.key, "rationale": lab.rationale, "isUnsure": lab.is_unsure}
            for i, lab in page.labels.items()
        },
        "urls": {
            "labels": reverse("labeling:trace-labels", kwargs={"slug": slug, "trace_id": trace_obj.pk}),
            "submit": reverse("labeling:assignment-submit", kwargs={"slug": slug, "assignment_id": assignment.pk}),
            "skip": reverse("labeling:assignment-skip", kwargs={"slug": slug, "assignment_id": assignment.pk}),
            "heartbeat": reverse(
                "labeling:assignment-heartbeat", kwargs={"slug": slug, "assignment_id": assignment.pk}
            ),
            "start": reverse("frontend:labeling-start", kwargs={"slug": slug}),
            "home": reverse("frontend:home"),
        },
    }
    response = render(
        request,
        "frontend/trace.html",
        {
            "project": project,
            "trace": trace_obj,
            "assignment": assignment,
            "page": page,
            "steps": steps,
            "taxonomy": taxonomy,
            "controls_html": controls_html,
            "problem_html": problem_html,
            "final_answer_html": final_html,
            "ground_truth_html": truth_html if project.shows_ground_truth else "",
            "guidelines_html": guidelines_html,
            "workspace": workspace,
            "skip_reasons": Assignment.SkipReason.choices,
        },
    )
    response["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
    return response
