"""Export API: permissions, starting a job, progress, download, retry, preview counts."""
import io
import json
import zipfile

import pytest

from exports.models import ExportJob
from labeling.models import Membership
from labeling.services.projects import membership_set
from tests.labeling.factories import UserFactory

pytestmark = pytest.mark.django_db


def url(project, suffix=""):
    return f"/api/projects/{project.slug}/exports/{suffix}"


def test_annotators_cannot_export_or_list_exports(annotator_client, project):
    assert annotator_client.post(url(project), {"format": "trl"}, format="json").status_code == 403
    assert annotator_client.get(url(project)).status_code == 403
    assert annotator_client.get(url(project, "preview-count/")).status_code == 403
    assert ExportJob.objects.count() == 0


def test_non_members_do_not_see_the_project(api_client, user, project):
    api_client.force_authenticate(user)
    assert api_client.get(url(project)).status_code == 404
    assert api_client.post(url(project), {"format": "trl"}, format="json").status_code == 404


def test_anonymous_callers_are_refused(api_client, project):
    assert api_client.get(url(project)).status_code in (401, 403)


def test_researcher_exports_and_downloads_a_zip(
    researcher_client, labelled_project, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = researcher_client.post(
            url(labelled_project),
            {"format": "trl", "split": "0.5,0.25,0.25", "seed": 3, "file_format": "parquet"},
            format="json",
        )
    assert response.status_code == 201, response.content
    assert len(callbacks) == 1
    job = ExportJob.objects.get(pk=response.json()["id"])
    assert job.state == "succeeded", job.error
    detail = researcher_client.get(url(labelled_project, f"{job.pk}/")).json()
    assert detail["progress"] == 1.0 and detail["manifest"]["format"] == "trl"
    assert detail["record_count"] == detail["manifest"]["totals"]["records"] > 0
    download = researcher_client.get(detail["download_url"])
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
    names = archive.namelist()
    root = names[0].split("/")[0]
    manifest = json.loads(archive.read(f"{root}/manifest.json"))
    assert {f"{root}/{f['path']}" for f in manifest["files"]} <= set(names)
    assert f"{root}/README.md" in names


def test_lead_can_list_exports_with_state_and_error(lead_client, project, lead):
    ExportJob.objects.create(project=project, created_by=lead, format="trl", state="failed",
                             error="ValueError: disk full")
    jobs = lead_client.get(url(project)).json()
    assert [(j["state"], j["error"]) for j in jobs] == [("failed", "ValueError: disk full")]
    assert jobs[0]["download_url"] is None


def test_bad_options_are_refused_naming_the_option(researcher_client, project):
    response = researcher_client.post(url(project), {"format": "trl", "aggregate": "soft"}, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == "aggregate"
    response = researcher_client.post(
        url(project), {"format": "trl", "aggregate": "annotator:nobody"}, format="json"
    )
    assert response.status_code == 400 and "nobody" in response.json()["detail"]
    response = researcher_client.post(url(project), {"format": "xml"}, format="json")
    assert response.status_code == 400 and "format" in response.json()
    assert ExportJob.objects.count() == 0


def test_job_list_runs_a_constant_number_of_queries(
    researcher_client, project, lead, django_assert_num_queries
):
    def create(n):
        for _ in range(n):
            ExportJob.objects.create(project=project, created_by=UserFactory(), format="trl")

    create(2)
    with django_assert_num_queries(3):  # project, role, jobs with creators
        assert len(researcher_client.get(url(project)).json()) == 2
    create(8)
    with django_assert_num_queries(3):
        assert len(researcher_client.get(url(project)).json()) == 10


def test_retry_reruns_a_failed_job_and_refuses_a_succeeded_one(
    researcher_client, labelled_project, researcher, django_capture_on_commit_callbacks
):
    job = ExportJob.objects.create(
        project=labelled_project, created_by=researcher, format="trl", state="failed",
        error="OperationalError: connection lost",
        options={"format": "trl", "file_format": "jsonl"},
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = researcher_client.post(url(labelled_project, f"{job.pk}/retry/"))
    assert response.status_code == 202
    job.refresh_from_db()
    assert (job.state, job.error, job.attempt_count) == ("succeeded", "", 1)
    assert researcher_client.post(url(labelled_project, f"{job.pk}/retry/")).status_code == 409


def test_a_failing_export_records_why(researcher_client, labelled_project, researcher):
    from exports.services import export_job_run

    job = ExportJob.objects.create(
        project=labelled_project, created_by=researcher, format="trl",
        options={"format": "trl", "aggregate": "annotator:ghost"},
    )
    job = export_job_run(job=job)
    assert job.state == "failed" and "ghost" in job.error
    assert researcher_client.get(url(labelled_project, f"{job.pk}/download/")).status_code == 409


def test_jobs_of_other_projects_are_not_found(researcher_client, project, lead):
    from labeling.services.projects import project_create

    other = project_create(name="Other", slug="other", lead=lead)
    job = ExportJob.objects.create(project=other, format="trl")
    assert researcher_client.get(url(project, f"{job.pk}/")).status_code == 404


def test_preview_count_follows_the_filters(researcher_client, labelled_project):
    everything = researcher_client.get(url(labelled_project, "preview-count/")).json()
    assert everything == {"trace_count": 12, "step_count": 34, "label_count": 68}
    alice = researcher_client.get(
        url(labelled_project, "preview-count/"), {"annotators": "alice", "generators": "gen-a"}
    ).json()
    assert alice == {"trace_count": 6, "step_count": 16, "label_count": 16}
    bad = researcher_client.get(url(labelled_project, "preview-count/"), {"split": "2"})
    assert bad.status_code == 400
    soft_trl = researcher_client.get(
        url(labelled_project, "preview-count/"), {"export_format": "trl", "aggregate": "soft"}
    )
    assert soft_trl.status_code == 400 and soft_trl.json()["field"] == "aggregate"


def test_researchers_of_another_role_set_still_get_403_when_made_annotators(
    researcher_client, project, researcher
):
    membership_set(project=project, user=researcher, role=Membership.Role.ANNOTATOR)
    assert researcher_client.get(url(project)).status_code == 403
