"""Build the demo project: a taxonomy with error categories, users for each role, 30 traces
and the labels of three annotators who sometimes disagree."""
import hashlib
import random
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from labeling.demo_data import DemoTrace, demo_traces
from labeling.models import Assignment, Membership, Project, Step, StepLabel, Trace, User
from labeling.services.labels import LabelInput, step_labels_set
from labeling.services.projects import membership_set
from labeling.services.taxonomies import DEFAULT_CATEGORIES, taxonomy_version_publish_new

DEMO_SLUG = "demo"

# (username, password, role); the passwords are printed by `manage.py demo`, demo use only.
DEMO_USERS: list[tuple[str, str, str | None]] = [
    ("admin", "admin-demo", None),
    ("lead", "lead-demo", Membership.Role.LEAD),
    ("alice", "alice-demo", Membership.Role.ANNOTATOR),
    ("bob", "bob-demo", Membership.Role.ANNOTATOR),
    ("carol", "carol-demo", Membership.Role.ANNOTATOR),
    ("rita", "rita-demo", Membership.Role.RESEARCHER),
]

DEMO_CATEGORIES: list[dict] = [
    *DEFAULT_CATEGORIES,
    {
        "key": "calculation_error", "name": "Calculation error", "parent": "negative",
        "polarity": -1, "hotkey": "c", "colour": "#a40e26",
        "description": "Arithmetic or algebra carried out wrongly.",
    },
    {
        "key": "logical_error", "name": "Logical error", "parent": "negative",
        "polarity": -1, "hotkey": "l", "colour": "#bc4c00", "is_rationale_required": True,
        "description": "A wrong inference, a misapplied rule or a misread condition.",
    },
    {
        "key": "hallucinated_fact", "name": "Hallucinated fact", "parent": "negative",
        "polarity": -1, "hotkey": "h", "colour": "#8250df", "is_rationale_required": True,
        "description": "States a formula, fact or given that does not exist.",
    },
    {
        "key": "unjustified_leap", "name": "Unjustified leap", "parent": "negative",
        "polarity": -1, "hotkey": "g", "colour": "#6e7781",
        "description": "Skips a step that cannot be checked in about 30 seconds.",
    },
]

GUIDELINES = """\
## How to label a step

* **Correct, makes progress (1)**: nothing in the step is wrong and it moves the solution on.
* **Correct, no progress (2)**: true but adds nothing: restating, checking the obvious, stalling.
* **Wrong (3)**: anything incorrect, even partly. Pick the error type when you can:
  calculation (`c`), logical (`l`), hallucinated fact (`h`), unjustified leap (`g`).

A step that *uses* an earlier wrong result is wrong too. Mark a step **unsure** (`f`) rather
than guessing, and write a short rationale for logical errors and hallucinated facts.
"""

# How often each demo annotator departs from the reference label, and how.
ANNOTATOR_NOISE = {"alice": 0.04, "bob": 0.12, "carol": 0.10}
CAROL_MISSES_ERRORS = 0.3
LABELED_TRACES = 20


@dataclass(frozen=True)
class DemoResult:
    project: Project
    created: bool
    users: list[tuple[str, str, str | None]]


def _reference_labels(trace: DemoTrace) -> list[LabelInput]:
    labels = []
    for index in range(len(trace.steps)):
        if trace.error_step is not None and index == trace.error_step:
            labels.append(LabelInput(index, trace.error_kind, rationale="The planted error."))
        elif trace.error_step is not None and index > trace.error_step:
            labels.append(LabelInput(index, "negative", rationale="Builds on the earlier error."))
        elif index in trace.neutral_steps:
            labels.append(LabelInput(index, "neutral"))
        else:
            labels.append(LabelInput(index, "positive"))
    return labels


def _annotator_labels(name: str, trace: DemoTrace, rng: random.Random) -> list[LabelInput]:
    labels = []
    for label in _reference_labels(trace):
        key, rationale, unsure = label.category_key, label.rationale, False
        if name == "carol" and trace.error_step == label.step_index and rng.random() < CAROL_MISSES_ERRORS:
            key, rationale = "positive", ""
        elif rng.random() < ANNOTATOR_NOISE[name]:
            key = rng.choice(["positive", "neutral", "negative"])
            rationale = "Not sure this follows." if key == "negative" else ""
            unsure = rng.random() < 0.5
        labels.append(LabelInput(label.step_index, key, rationale=rationale, is_unsure=unsure))
    return labels


def _users() -> dict[str, User]:
    users = {}
    for username, password, role in DEMO_USERS:
        user, created = User.objects.get_or_create(username=username)
        if created:
            user.set_password(password)
            user.is_staff = user.is_superuser = role is None
            user.save()
        users[username] = user
    return users


@transaction.atomic
def demo_project_create(*, seed: int = 7) -> DemoResult:
    """Create the demo project once; later calls return it unchanged."""
    existing = Project.objects.filter(slug=DEMO_SLUG).first()
    if existing is not None:
        return DemoResult(project=existing, created=False, users=DEMO_USERS)
    users = _users()
    project = Project.objects.create(
        name="Demo: school maths", slug=DEMO_SLUG, guidelines=GUIDELINES, overlap=3
    )
    taxonomy_version_publish_new(
        project=project, categories=DEMO_CATEGORIES, published_by=users["lead"],
        notes="Polarity plus four error types under negative.",
    )
    for username, _, role in DEMO_USERS:
        if role is not None:
            membership_set(project=project, user=users[username], role=role)

    written = demo_traces()
    traces = Trace.objects.bulk_create(
        Trace(
            project=project, external_id=f"demo-{i}", problem=t.problem,
            final_answer=t.final_answer, ground_truth_answer=t.ground_truth_answer,
            is_outcome_correct=t.final_answer == t.ground_truth_answer, generator=t.generator,
            metadata={"family": t.problem.split()[1], "planted_error_step": t.error_step},
            source_format="demo", step_count=len(t.steps),
            content_hash=hashlib.sha256("\x1e".join([t.problem, *t.steps]).encode()).hexdigest(),
        )
        for i, t in enumerate(written)
    )
    Step.objects.bulk_create(
        Step(trace=trace, index=i, text=text)
        for trace, t in zip(traces, written, strict=True)
        for i, text in enumerate(t.steps)
    )

    rng = random.Random(seed)
    now = timezone.now()
    for n, (trace, t) in enumerate(zip(traces[:LABELED_TRACES], written, strict=False)):
        # Spread the work over four weeks so the weekly trends have something to show.
        done_at = now - timedelta(days=28 - n * 28 / LABELED_TRACES, hours=rng.random() * 8)
        for name in ANNOTATOR_NOISE:
            annotator = users[name]
            step_labels_set(trace=trace, annotator=annotator, labels=_annotator_labels(name, t, rng))
            seconds = rng.uniform(45, 300)
            Assignment.objects.create(
                trace=trace, annotator=annotator, state=Assignment.State.SUBMITTED,
                seconds_spent=seconds, started_at=done_at - timedelta(seconds=seconds),
                submitted_at=done_at,
            )
            StepLabel.objects.filter(trace=trace, annotator=annotator).update(
                created_at=done_at, updated_at=done_at
            )
    return DemoResult(project=project, created=True, users=DEMO_USERS)
