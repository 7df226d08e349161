"""Celery tasks for agreement."""
