"""Celery tasks for imports."""

from celery import shared_task
from django.db import OperationalError

from labeling.models import ImportJob
from labeling.services.imports import import_job_run


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def trace_import_task(job_id: int) -> str:
    """Run one import job; safe to run twice (a finished job is left alone, an import is atomic)."""
    return import_job_run(job=ImportJob.objects.get(pk=job_id)).state
