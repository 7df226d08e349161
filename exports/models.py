"""Tables of the exports app: one row per export job."""
from django.conf import settings
from django.db import models

from labeling.models import JobState, Project


class ExportJob(models.Model):
    """One export of a project's labels to dataset files, run by a Celery task."""

    State = JobState

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="export_jobs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    format = models.CharField(max_length=20)
    file_format = models.CharField(max_length=10, default="jsonl")
    options = models.JSONField(default=dict, help_text="Validated export options.")
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    processed_count = models.PositiveIntegerField(default=0, help_text="Traces read so far.")
    total_count = models.PositiveIntegerField(default=0, help_text="Traces to read.")
    record_count = models.PositiveIntegerField(default=0)
    step_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    manifest = models.JSONField(null=True, blank=True)
    directory = models.CharField(max_length=500, blank=True, help_text="Folder of the files.")
    zip_path = models.CharField(max_length=500, blank=True)
    zip_bytes = models.PositiveBigIntegerField(default=0)
    attempt_count = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "-created_at"], name="export_job_project_created")]

    def __str__(self) -> str:
        return f"export {self.pk} of {self.project_id} as {self.format} ({self.state})"

    @property
    def progress(self) -> float:
        """Return the share of traces read, from 0 to 1."""
        if self.state == self.State.SUCCEEDED:
            return 1.0
        return self.processed_count / self.total_count if self.total_count else 0.0
