"""The demo project has what the agreement and export pages need to show something."""
import pytest
from django.core.management import call_command

from labeling.models import Category, Membership, Project, StepLabel, Trace

pytestmark = pytest.mark.django_db


def test_demo_creates_roles_taxonomy_traces_and_disagreeing_labels(capsys):
    call_command("demo")
    out = capsys.readouterr().out
    project = Project.objects.get(slug="demo")
    roles = set(project.memberships.values_list("role", flat=True))
    assert roles == set(Membership.Role.values)
    assert "alice-demo" in out and "lead-demo" in out and "rita-demo" in out

    version = project.taxonomy_version
    assert version.is_published
    children = Category.objects.filter(version=version, parent__key="negative")
    assert children.count() == 4 and set(children.values_list("polarity", flat=True)) == {-1}

    assert Trace.objects.filter(project=project).count() == 30
    labels = StepLabel.objects.filter(trace__project=project)
    assert set(labels.values_list("annotator__username", flat=True)) == {"alice", "bob", "carol"}
    # Some steps carry different polarities from different annotators.
    per_step = {}
    for step_id, polarity in labels.values_list("step_id", "polarity"):
        per_step.setdefault(step_id, set()).add(polarity)
    disputed = sum(1 for values in per_step.values() if len(values) > 1)
    assert 0 < disputed < len(per_step) / 2


def test_demo_runs_twice_without_adding_anything():
    call_command("demo")
    counts = (Trace.objects.count(), StepLabel.objects.count())
    call_command("demo")
    assert (Trace.objects.count(), StepLabel.objects.count()) == counts
