"""Celery tasks for agreement."""
from celery import shared_task
from django.db import OperationalError

from labeling.services.agreement import agreement_report_refresh


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def agreement_report_compute_task(report_id: int) -> str:
    """Compute a scheduled agreement report; safe to run twice (it recomputes from labels)."""
    return agreement_report_refresh(report_id=report_id).state
