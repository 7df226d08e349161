"""An export through a real Celery worker on the configured broker (Redis in CI)."""
import io
import json
import shutil
import time
import zipfile
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from exports.models import ExportJob
from labeling.models import Membership
from labeling.services.projects import membership_set, project_create
from tests.exports.conftest import labels_add
from tests.labeling.factories import TraceFactory, UserFactory


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_export_runs_on_a_real_worker_and_downloads(celery_worker_process):
    lead = UserFactory(username="worker-lead")
    project = project_create(name="Worker export", slug="worker-export", lead=lead)
    researcher = UserFactory(username="worker-res")
    membership_set(project=project, user=researcher, role=Membership.Role.RESEARCHER)
    for i in range(5):
        trace = TraceFactory(project=project, problem=f"Worker problem {i}", content_hash=f"w{i}", steps=3)
        labels_add(trace, lead, [1, 1 if i % 2 else -1, 1])
    client = APIClient()
    client.force_authenticate(researcher)
    response = client.post(
        f"/api/projects/{project.slug}/exports/", {"format": "trl", "split": "0.6,0.2,0.2"}, format="json"
    )
    assert response.status_code == 201
    job_id = response.json()["id"]
    deadline = time.monotonic() + 60
    detail = {}
    while time.monotonic() < deadline:
        detail = client.get(f"/api/projects/{project.slug}/exports/{job_id}/").json()
        if detail["state"] in ("succeeded", "failed"):
            break
        time.sleep(0.3)
    assert detail["state"] == "succeeded", detail
    job = ExportJob.objects.get(pk=job_id)
    try:
        download = client.get(detail["download_url"])
        assert download.status_code == 200
        archive = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))
        manifest_name = next(n for n in archive.namelist() if n.endswith("/manifest.json"))
        manifest = json.loads(archive.read(manifest_name))
        assert manifest["totals"]["records"] == 5 and detail["record_count"] == 5
    finally:
        shutil.rmtree(job.directory, ignore_errors=True)
        Path(job.zip_path).unlink(missing_ok=True)
