"""Celery entry points of the labeling app, one module per topic; each calls one service."""
from labeling.tasks import agreement, imports  # noqa: F401  (registers the tasks)
