"""Import API: upload, background import, polling; lead only; limits; constant queries."""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from rest_framework.test import APIClient

from annotator import settings as annotator_settings
from labeling.models import ImportJob, Step, StepLabel, Trace
from labeling.services.imports import _ProgressRecorder, import_job_create
from labeling.services.projects import project_create
from tests.labeling.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/projects/demo-math/imports/"


def _upload(fixtures_dir, name):
    return SimpleUploadedFile(name, (fixtures_dir / "importers" / name).read_bytes())


def test_upload_imports_in_the_background_and_the_job_reports_the_result(
    lead_client, project, fixtures_dir, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = lead_client.post(
            URL, {"file": _upload(fixtures_dir, "processbench_gsm8k_30.jsonl")}, format="multipart"
        )
    assert response.status_code == 202, response.content
    assert response.data["state"] == "pending"
    assert len(callbacks) == 1
    job = lead_client.get(f"{URL}{response.data['id']}/").data
    assert job["state"] == "succeeded"
    assert (job["processed_lines"], job["total_lines"]) == (30, 30)
    assert job["result"]["traces_added"] == 30 and job["result"]["labels_added"] == 122
    assert job["result"]["format"] == "processbench" and job["errors"] == []
    assert Trace.objects.filter(project=project, import_job_id=job["id"]).count() == 30


def test_a_bad_file_fails_the_job_with_every_error_and_writes_nothing(
    lead_client, project, django_capture_on_commit_callbacks
):
    content = b'{"problem": "p", "steps": ["a"]}\n{"problem": "q", "steps": "a"}\nnot json\n'
    with django_capture_on_commit_callbacks(execute=True):
        response = lead_client.post(
            URL,
            {"file": SimpleUploadedFile("bad.jsonl", content), "format": "native"},
            format="multipart",
        )
    job = lead_client.get(f"{URL}{response.data['id']}/").data
    assert job["state"] == "failed"
    assert [(e["line"], e["field"]) for e in job["errors"]] == [(2, "steps"), (3, "json")]
    assert "nothing was imported" in job["result"]["detail"]
    assert not Trace.objects.exists() and not Step.objects.exists()


def test_text_upload_takes_a_splitter(
    lead_client, project, fixtures_dir, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = lead_client.post(
            URL,
            {
                "file": _upload(fixtures_dir, "text_steps.txt"),
                "format": "text",
                "splitter": "step-marker",
            },
            format="multipart",
        )
    job = ImportJob.objects.get(pk=response.data["id"])
    assert job.state == "succeeded" and job.result["steps_added"] == 4


def test_a_file_over_the_upload_limit_gets_413_and_no_job(
    lead_client, project, fixtures_dir, settings
):
    settings.IMPORT_MAX_UPLOAD_BYTES = 100
    response = lead_client.post(
        URL, {"file": _upload(fixtures_dir, "trl_synthetic.jsonl")}, format="multipart"
    )
    assert response.status_code == 413
    assert "over the upload limit of 100 bytes" in response.data["detail"]
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"format": "csv"}, "format"),
        ({"format": "text", "splitter": "regex:("}, "splitter"),
        ({"format": "trl", "splitter": "line"}, "splitter"),
    ],
)
def test_bad_options_are_refused_with_400(lead_client, project, fixtures_dir, data, field):
    response = lead_client.post(
        URL, {"file": _upload(fixtures_dir, "trl_synthetic.jsonl"), **data}, format="multipart"
    )
    assert response.status_code == 400
    assert field in response.data
    assert not ImportJob.objects.exists()


def test_a_missing_file_is_refused(lead_client, project):
    response = lead_client.post(URL, {"format": "auto"}, format="multipart")
    assert response.status_code == 400 and "file" in response.data


def test_annotators_and_researchers_cannot_import_or_list(
    annotator_client, researcher_client, project, fixtures_dir
):
    for client in (annotator_client, researcher_client):
        assert (
            client.post(
                URL, {"file": _upload(fixtures_dir, "trl_synthetic.jsonl")}, format="multipart"
            ).status_code
            == 403
        )
        assert client.get(URL).status_code == 403
    assert not ImportJob.objects.exists()


def test_non_members_do_not_see_the_project(api_client, project):
    api_client.force_authenticate(UserFactory(username="stranger"))
    assert api_client.get(URL).status_code == 404
    api_client.force_authenticate(None)
    assert api_client.get(URL).status_code == 403


def test_a_job_of_another_project_is_not_found(lead_client, project, lead):
    other = project_create(name="Other", slug="other", lead=lead)
    job = import_job_create(
        project=other, upload=SimpleUploadedFile("a.jsonl", b"{}"), filename="a.jsonl"
    )
    assert lead_client.get(f"{URL}{job.pk}/").status_code == 404


def test_the_list_runs_a_constant_number_of_queries(
    lead_client, project, lead, django_assert_num_queries
):
    def add_jobs(n):
        for i in range(n):
            import_job_create(
                project=project,
                upload=SimpleUploadedFile(f"{i}.jsonl", b"{}"),
                filename=f"{i}.jsonl",
                created_by=lead,
            )

    add_jobs(2)
    with django_assert_num_queries(4) as ctx:  # role lookup, project, count, page
        first = lead_client.get(URL)
    add_jobs(5)
    with django_assert_num_queries(len(ctx.captured_queries)):
        second = lead_client.get(URL)
    assert first.data["count"] == 2 and second.data["count"] == 7
    assert second.data["results"][0]["created_by"] == "lead"


def test_the_schema_documents_the_import_endpoints(lead_client):
    response = lead_client.get("/api/schema/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "/api/projects/{slug}/imports/" in body and "ImportCreateInput" in body


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_imports_an_upload(celery_worker_process, fixtures_dir, settings):
    # The worker started (session scope) with the configured MEDIA_ROOT, before the per-test
    # override of conftest's _media_root, so the upload must land where the worker looks.
    settings.MEDIA_ROOT = annotator_settings.MEDIA_ROOT
    lead = UserFactory(username="worker-lead")
    project_create(name="Worker", slug="worker-proj", lead=lead)
    client = APIClient()
    client.force_authenticate(lead)
    response = client.post(
        "/api/projects/worker-proj/imports/",
        {"file": _upload(fixtures_dir, "prm800k_phase2_sample.jsonl")},
        format="multipart",
    )
    assert response.status_code == 202
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = client.get(f"/api/projects/worker-proj/imports/{response.data['id']}/").data
        if job["state"] in ("succeeded", "failed"):
            break
        time.sleep(0.2)
    assert job["state"] == "succeeded", job
    assert job["result"]["traces_added"] == 9 and job["result"]["labels_added"] == 76
    assert Trace.objects.filter(project__slug="worker-proj").count() == 9
    assert StepLabel.objects.filter(trace__project__slug="worker-proj").count() == 76
    ImportJob.objects.get(pk=job["id"]).file.delete(save=False)


@pytest.mark.django_db(transaction=True)
def test_progress_is_written_where_pollers_see_it(project):
    """Outside a transaction the job row is updated; inside one, PostgreSQL uses a 2nd link."""
    job = import_job_create(
        project=project, upload=SimpleUploadedFile("a.jsonl", b"{}"), filename="a.jsonl"
    )
    record = _ProgressRecorder(job)
    record(3, 10)
    job.refresh_from_db()
    assert (job.processed_lines, job.total_lines) == (3, 10)
    poller = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with transaction.atomic():
            record(10, 10)
            with poller.cursor() as cursor:
                cursor.execute(
                    "SELECT processed_lines FROM labeling_importjob WHERE id = %s", [job.pk]
                )
                seen = cursor.fetchone()[0]
    finally:
        poller.close()
        record.close()
    # SQLite has one writer, so there progress waits for the end of the transaction.
    assert seen == (10 if connection.vendor == "postgresql" else 3)
