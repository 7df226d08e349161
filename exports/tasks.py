"""Celery entry points of the exports app; each calls one service."""
from celery import shared_task
from django.db import OperationalError

from exports.models import ExportJob
from exports.services import export_job_run


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def export_job_run_task(job_id: int) -> str:
    """Run one export job; return its final state."""
    job = export_job_run(job=ExportJob.objects.select_related("project").get(pk=job_id))
    return job.state
