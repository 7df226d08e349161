"""Celery tasks for imports."""
