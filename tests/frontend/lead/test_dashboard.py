"""Agreement dashboard: the figures come from the selectors and the agreement report, each CSV
builds only its table (who may open it: test_permissions.py; query counts:
test_query_counts.py)."""
import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from labeling.models import AgreementReport, Assignment, GoldLabel, Membership, StepLabel
from labeling.selectors.dashboard import (
    annotator_work_for_project,
    labels_per_day_for_project,
    progress_by_state_for_project,
    qc_accuracy_by_annotator,
    weekly_trend_rows_for_project,
)
from labeling.services import agreement as agreement_service
from labeling.services.labels import LabelInput, step_labels_set
from labeling.services.projects import membership_set
from tests.labeling.factories import TraceFactory, UserFactory

pytestmark = pytest.mark.django_db

def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _label_project(project, *, traces: int, annotators: int, steps: int = 3) -> list:
    people = [UserFactory(username=f"{project.slug}-ann-{i}") for i in range(annotators)]
    for person in people:
        membership_set(project=project, user=person, role=Membership.Role.ANNOTATOR)
    now = timezone.now()
    for n in range(traces):
        trace = TraceFactory(project=project, steps=steps)
        for i, person in enumerate(people):
            keys = ["positive", "neutral", "negative"]
            step_labels_set(trace=trace, annotator=person, labels=[
                LabelInput(s, keys[(s + i * (n % 2)) % 3]) for s in range(steps)
            ])
            Assignment.objects.create(
                trace=trace, annotator=person, state=Assignment.State.SUBMITTED,
                seconds_spent=30 + 10 * i, submitted_at=now - timedelta(days=n % 20),
            )
    return people


def _async_dashboard(project, lead, settings) -> tuple[list, Client, str]:
    """A labeled project whose agreement report is always computed by the (queued) worker task;
    returns the annotators, the lead's client and the dashboard's URL."""
    people = _label_project(project, traces=2, annotators=2)
    settings.AGREEMENT_ASYNC_LABEL_THRESHOLD = 0
    return people, _client(lead), reverse("lead:dashboard", args=[project.slug])


def _compute_report(client, url, callbacks_capture) -> None:
    """Open the dashboard, which queues the report's task, and run that task (eager Celery)."""
    with callbacks_capture(execute=False) as queued:
        client.get(url)
    queued[0]()


def test_qc_marking_is_lead_only(project, lead, researcher, annotator):
    trace = TraceFactory(project=project, steps=1)
    url = reverse("labeling:trace-qc", kwargs={"slug": project.slug, "trace_id": trace.pk})
    for person in (researcher, annotator):
        client = APIClient()
        client.force_authenticate(person)
        assert client.put(url, {"is_qc": True}, format="json").status_code == 403
    client = APIClient()
    client.force_authenticate(lead)
    response = client.put(url, {"is_qc": True}, format="json")
    assert response.status_code == 409
    assert "gold label on every step" in response.json()["detail"]
    trace.refresh_from_db()
    assert trace.is_qc is False


def test_researcher_reads_the_dashboard_api(project, researcher_client, annotator_client):
    url = reverse("labeling:dashboard-progress", kwargs={"slug": project.slug})
    assert annotator_client.get(url).status_code == 403
    body = researcher_client.get(url).json()
    assert body["progress"]["unassigned"] == 0 and body["annotators"] == []


def test_dashboard_shows_per_annotator_work_and_csv_matches(project, lead):
    people = _label_project(project, traces=4, annotators=2)
    response = _client(lead).get(reverse("lead:dashboard", args=[project.slug]))
    html = response.content.decode()
    for person in people:
        assert f'data-annotator="{person.username}"' in html
    rows = list(csv.reader(io.StringIO(_client(lead).get(
        reverse("lead:dashboard-csv", args=[project.slug]) + "?chart=annotators"
    ).content.decode())))
    assert rows[0][:4] == ["annotator", "labels_done", "traces_submitted",
                           "median_seconds_per_trace"]
    by_name = {r[0]: r for r in rows[1:]}
    assert by_name[people[0].username][1:4] == ["12", "4", "30.0"]
    assert by_name[people[1].username][1:4] == ["12", "4", "40.0"]


def test_unknown_chart_csv_is_404_naming_the_choices(project, lead):
    response = _client(lead).get(reverse("lead:dashboard-csv", args=[project.slug]) + "?chart=pie")
    assert response.status_code == 404


def test_progress_counts_each_trace_in_one_state(project):
    project.overlap = 2
    project.save()
    a, b = UserFactory(username="pa"), UserFactory(username="pb")
    TraceFactory(project=project, steps=2)  # unassigned
    partly = TraceFactory(project=project, steps=2)
    Assignment.objects.create(trace=partly, annotator=a, state=Assignment.State.IN_PROGRESS)
    Assignment.objects.create(trace=partly, annotator=b, state=Assignment.State.SKIPPED)
    full = TraceFactory(project=project, steps=2)
    adjudicated = TraceFactory(project=project, steps=1)
    for trace in (full, adjudicated):
        for person in (a, b):
            Assignment.objects.create(trace=trace, annotator=person,
                                      state=Assignment.State.SUBMITTED)
    category = project.taxonomy_version.categories.get(key="positive")
    GoldLabel.objects.create(step=adjudicated.steps.get(), trace=adjudicated, category=category,
                             polarity=1, method=GoldLabel.Method.LEAD)
    TraceFactory(project=project, steps=1, is_qc=True)
    assert progress_by_state_for_project(project=project) == {
        "unassigned": 1, "partly_labeled": 1, "fully_labeled": 1, "adjudicated": 1, "qc": 1,
    }


def test_qc_accuracy_is_the_share_of_qc_labels_with_gold_polarity(project, annotator):
    qc = TraceFactory(project=project, steps=4, is_qc=True)
    version = project.taxonomy_version
    gold_keys = ["positive", "positive", "negative", "neutral"]
    for step, key in zip(qc.steps.order_by("index"), gold_keys, strict=True):
        category = version.categories.get(key=key)
        GoldLabel.objects.create(step=step, trace=qc, category=category,
                                 polarity=category.polarity, method=GoldLabel.Method.QC)
    step_labels_set(trace=qc, annotator=annotator, labels=[
        LabelInput(0, "positive"), LabelInput(1, "negative"), LabelInput(2, "negative"),
        LabelInput(3, "positive"),
    ])
    plain = TraceFactory(project=project, steps=1)
    step_labels_set(trace=plain, annotator=annotator, labels=[LabelInput(0, "negative")])
    assert qc_accuracy_by_annotator(project=project) == {annotator.pk: (4, 2)}
    (work,) = annotator_work_for_project(project=project)
    assert work.qc_accuracy == 0.5 and work.labels_done == 5
    assert StepLabel.objects.filter(annotator=annotator).count() == 5


def test_home_page_links_each_role_to_its_tools(project, lead, annotator, researcher):
    def links(user):
        html = _client(user).get(reverse("frontend:home")).content.decode()
        return {name for name in ("settings", "taxonomy", "members", "adjudication", "dashboard",
                                  "exports") if f'data-testid="link-{name}"' in html}

    assert links(lead) == {"settings", "taxonomy", "members", "adjudication", "dashboard",
                           "exports"}
    assert links(researcher) == {"dashboard", "exports"}
    assert links(annotator) == set()
    home = _client(annotator).get(reverse("frontend:home")).content.decode()
    assert 'data-testid="start-labeling"' in home


def test_large_project_shows_computing_then_stale_figures_while_recomputing(
    project, lead, settings, django_capture_on_commit_callbacks
):
    people, client, url = _async_dashboard(project, lead, settings)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        html = client.get(url).content.decode()
    assert len(queued) == 1  # the Celery task, not run yet
    assert 'data-testid="computing"' in html and "data-poll-url=" in html
    assert 'data-testid="figure-fleiss_kappa"' not in html
    queued[0]()  # the worker computes the report (eager Celery)
    html = client.get(url).content.decode()
    assert 'data-testid="figure-fleiss_kappa"' in html and "data-poll-url=" not in html
    step_labels_set(trace=project.traces.first(), annotator=people[0],
                    labels=[LabelInput(0, "negative")])
    with django_capture_on_commit_callbacks(execute=False):
        html = client.get(url).content.decode()
    assert 'data-testid="stale"' in html and 'data-testid="figure-fleiss_kappa"' in html
    assert "data-poll-url=" in html


def _fail_dashboard_report(client, url, monkeypatch, callbacks_capture) -> None:
    with callbacks_capture(execute=False) as queued:
        client.get(url)
    monkeypatch.setattr(agreement_service, "agreement_report", _broken)
    with pytest.raises(RuntimeError):
        queued[0]()  # the worker's task fails
    monkeypatch.undo()


def _broken(*args, **kwargs):
    raise RuntimeError("out of <memory>")


def test_failed_report_shows_its_error_and_stops_polling(
    project, lead, settings, django_capture_on_commit_callbacks, monkeypatch
):
    """A report whose task failed, labels unchanged: the page shows the error (escaped), no
    spinner and no poll URL, and queues no new task."""
    _, client, url = _async_dashboard(project, lead, settings)
    _fail_dashboard_report(client, url, monkeypatch, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        html = client.get(url).content.decode()
    assert queued == []
    assert 'data-testid="agreement-failed"' in html
    assert "RuntimeError: out of &lt;memory&gt;" in html
    assert 'data-testid="computing"' not in html and "data-poll-url=" not in html
    assert AgreementReport.objects.get(project=project).state == AgreementReport.State.FAILED


def test_failed_recomputation_shows_the_error_above_the_earlier_figures(
    project, lead, settings, django_capture_on_commit_callbacks, monkeypatch
):
    people, client, url = _async_dashboard(project, lead, settings)
    _compute_report(client, url, django_capture_on_commit_callbacks)
    step_labels_set(trace=project.traces.first(), annotator=people[0],
                    labels=[LabelInput(0, "negative")])
    _fail_dashboard_report(client, url, monkeypatch, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        html = client.get(url).content.decode()
    assert queued == []
    assert 'data-testid="agreement-failed"' in html and "out of &lt;memory&gt;" in html
    assert 'data-testid="figure-fleiss_kappa"' in html and "data-poll-url=" not in html


def test_dashboard_report_follows_submissions_that_change_no_label(
    project, lead, settings, django_capture_on_commit_callbacks
):
    """Submitting a trace changes no label, yet the weekly traces_submitted stored with the
    report must move: the report's fingerprint includes the submitted assignments."""
    people, client, url = _async_dashboard(project, lead, settings)
    _compute_report(client, url, django_capture_on_commit_callbacks)
    report = AgreementReport.objects.get(project=project)
    assert sum(w["traces_submitted"] for w in report.result["weekly"]) == 4
    trace = TraceFactory(project=project, steps=1)
    for person in people:
        step_labels_set(trace=trace, annotator=person, labels=[LabelInput(0, "positive")])
    with django_capture_on_commit_callbacks(execute=True):
        client.get(url)
    for person in people:
        Assignment.objects.create(trace=trace, annotator=person, submitted_at=timezone.now(),
                                  state=Assignment.State.SUBMITTED)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        html = client.get(url).content.decode()
    assert len(queued) == 1 and 'data-testid="stale"' in html
    queued[0]()
    report.refresh_from_db()
    assert sum(w["traces_submitted"] for w in report.result["weekly"]) == 6


def test_csv_quotes_usernames_a_spreadsheet_would_run(project, lead):
    person = UserFactory(username="=cmd")
    trace = TraceFactory(project=project, steps=1)
    step_labels_set(trace=trace, annotator=person, labels=[LabelInput(0, "positive")])
    body = _client(lead).get(
        reverse("lead:dashboard-csv", args=[project.slug]) + "?chart=annotators"
    ).content.decode()
    assert "'=cmd," in body and "\n=cmd" not in body


def _csv_rows(client, project, chart: str) -> list[list[str]]:
    url = reverse("lead:dashboard-csv", args=[project.slug]) + f"?chart={chart}"
    return list(csv.reader(io.StringIO(client.get(url).content.decode())))


def test_weekly_trend_is_stored_with_the_report_and_only_read_by_the_page(project, lead,
                                                                         monkeypatch):
    _label_project(project, traces=3, annotators=2)
    client = _client(lead)
    assert client.get(reverse("lead:dashboard", args=[project.slug])).status_code == 200
    report = AgreementReport.objects.get(project=project)
    assert report.params["weekly_trend"] is True
    assert report.result["weekly"] == weekly_trend_rows_for_project(project_id=project.pk)
    assert sum(w["labels_made"] for w in report.result["weekly"]) == 18

    def recomputed(**kwargs):
        raise AssertionError("the page must read the stored trend, not recompute it")

    monkeypatch.setattr(agreement_service, "weekly_trend_rows_for_project", recomputed)
    html = client.get(reverse("lead:dashboard", args=[project.slug])).content.decode()
    assert 'data-testid="weekly-agreement-chart"' in html
    rows = _csv_rows(client, project, "weekly")
    assert rows[0][:3] == ["week", "week_start", "labels_made"]
    assert sum(int(r[2]) for r in rows[1:]) == 18


def test_stale_report_keeps_showing_its_weekly_trend(project, lead, settings,
                                                     django_capture_on_commit_callbacks):
    people, client, url = _async_dashboard(project, lead, settings)
    _compute_report(client, url, django_capture_on_commit_callbacks)
    step_labels_set(trace=project.traces.first(), annotator=people[0],
                    labels=[LabelInput(1, "negative")])
    with django_capture_on_commit_callbacks(execute=False):
        html = client.get(url).content.decode()
    assert 'data-testid="stale"' in html and 'data-testid="weekly-agreement-chart"' in html
    assert "weekly_trend=true" in html  # polls the report it shows, not another one


def test_label_counts_follow_new_labels_through_the_cache(project, lead):
    people = _label_project(project, traces=2, annotators=2)
    client = _client(lead)
    before = {r[0]: r[1] for r in _csv_rows(client, project, "annotators")[1:]}
    assert before[people[0].username] == "6"
    trace = TraceFactory(project=project, steps=2)
    step_labels_set(trace=trace, annotator=people[0],
                    labels=[LabelInput(0, "positive"), LabelInput(1, "positive")])
    after = {r[0]: r[1] for r in _csv_rows(client, project, "annotators")[1:]}
    assert after[people[0].username] == "8" and after[people[1].username] == "6"
    daily = _csv_rows(client, project, "daily")
    by_name = {r[0]: sum(int(n) for n in r[1:]) for r in daily[1:]}
    assert by_name == {people[0].username: 8, people[1].username: 6}


def test_labels_per_day_window_ends_on_the_latest_label_day(project, annotator):
    trace = TraceFactory(project=project, steps=3)
    step_labels_set(trace=trace, annotator=annotator, labels=[
        LabelInput(0, "positive"), LabelInput(1, "positive"), LabelInput(2, "negative"),
    ])
    labels = list(StepLabel.objects.filter(trace=trace).order_by("step__index"))
    latest = timezone.now() - timedelta(days=10)
    for label, days_before in zip(labels, (0, 3, 40), strict=True):
        StepLabel.objects.filter(pk=label.pk).update(
            created_at=latest - timedelta(days=days_before)
        )
    daily = labels_per_day_for_project(project=project, days=7)
    assert daily.days[-1] == latest.date() and len(daily.days) == 7
    assert daily.annotators == [annotator.username]
    assert daily.counts == [[0, 0, 0, 1, 0, 0, 1]]


def test_agreement_api_returns_the_weekly_trend_only_when_asked(project, lead):
    _label_project(project, traces=2, annotators=2)
    client = APIClient()
    client.force_authenticate(lead)
    url = reverse("labeling:agreement-report", kwargs={"slug": project.slug})
    assert "weekly" not in client.get(url).json()
    body = client.get(url, {"weekly_trend": "true"}).json()
    assert body["params"]["weekly_trend"] is True
    assert sum(w["labels_made"] for w in body["weekly"]) == 12


# Tables each chart's CSV may read beyond the session, user, project and membership: the
# report's charts read the report's fingerprint (labels, the project's QC revision, submitted
# assignments) and the report, and nothing of the others'.
_FINGERPRINT = {"labeling_steplabel", "labeling_goldlabel", "labeling_trace", "labeling_project"}
_REPORT = _FINGERPRINT | {"labeling_assignment", "labeling_agreementreport"}
CSV_READS = {
    "headline": _REPORT,
    "confusion": _REPORT,
    "categories": _REPORT,
    "weekly": _REPORT,
    "annotators": _REPORT | {"labeling_assignment", "labeling_user", "labeling_step"},
    "progress": {"labeling_trace", "labeling_assignment", "labeling_goldlabel"},
    "daily": _FINGERPRINT | {"labeling_user"},
}


@pytest.mark.parametrize("chart", list(CSV_READS))
def test_each_csv_builds_only_its_own_table(chart, project, lead):
    import re

    _label_project(project, traces=2, annotators=2)
    client = _client(lead)
    url = reverse("lead:dashboard-csv", args=[project.slug]) + f"?chart={chart}"
    assert client.get(url).status_code == 200  # the report exists from here on
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    read = {
        table for q in ctx.captured_queries[4:]
        for table in re.findall(r'(?:FROM|JOIN) "(\w+)"', q["sql"])
    }
    assert read <= CSV_READS[chart], read - CSV_READS[chart]


def test_progress_csv_does_not_schedule_the_agreement_report(project, lead, settings,
                                                             django_capture_on_commit_callbacks):
    _label_project(project, traces=2, annotators=2)
    settings.AGREEMENT_ASYNC_LABEL_THRESHOLD = 0
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = _client(lead).get(
            reverse("lead:dashboard-csv", args=[project.slug]) + "?chart=progress"
        )
    assert response.status_code == 200 and queued == []
    assert not AgreementReport.objects.filter(project=project).exists()
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = _client(lead).get(
            reverse("lead:dashboard-csv", args=[project.slug]) + "?chart=weekly"
        )
    assert response.status_code == 409 and len(queued) == 1
