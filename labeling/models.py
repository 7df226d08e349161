"""Tables of the labeling domain: projects, taxonomies, traces, steps, labels, gold, jobs."""
from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q


class User(AbstractUser):
    """A person, or a source annotator standing for the labels that came with an imported file."""

    is_source = models.BooleanField(
        default=False,
        help_text="Not a person: the labels of an imported dataset (e.g. source-prm800k).",
    )

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"


class JobState(models.TextChoices):
    """States of a background job (import, agreement report, export)."""

    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Polarity(models.IntegerChoices):
    NEGATIVE = -1, "negative"
    NEUTRAL = 0, "neutral"
    POSITIVE = 1, "positive"


class Project(models.Model):
    class LabelingMode(models.TextChoices):
        EVERY_STEP = "every_step", "Every step"
        FIRST_ERROR = "first_error", "Stop at first error"

    class QueueOrder(models.TextChoices):
        IMPORT = "import", "Import order"
        RANDOM = "random", "Seeded random"
        FEWEST_LABELS = "fewest_labels", "Fewest labels first"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    guidelines = models.TextField(blank=True, help_text="Markdown shown to annotators.")
    taxonomy_version = models.ForeignKey(
        "TaxonomyVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The published version annotators label with now.",
    )
    overlap = models.PositiveSmallIntegerField(default=2, help_text="Annotators per trace.")
    labeling_mode = models.CharField(
        max_length=20, choices=LabelingMode.choices, default=LabelingMode.EVERY_STEP
    )
    is_blind = models.BooleanField(default=True, help_text="Annotators never see others' labels.")
    queue_order = models.CharField(
        max_length=20, choices=QueueOrder.choices, default=QueueOrder.IMPORT
    )
    queue_seed = models.IntegerField(default=0)
    shows_ground_truth = models.BooleanField(default=False)
    qc_rate = models.FloatField(default=0.0, help_text="Share of queue hand-outs that are QC traces.")
    # Bumped whenever one of its traces becomes or stops being a QC trace: agreement leaves QC
    # traces out, so the labels fingerprint reads it.
    qc_revision = models.PositiveIntegerField(db_default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(overlap__gte=1), name="project_overlap_positive"),
            models.CheckConstraint(
                condition=Q(qc_rate__gte=0) & Q(qc_rate__lte=1), name="project_qc_rate_share"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        LEAD = "lead", "Lead"
        ANNOTATOR = "annotator", "Annotator"
        RESEARCHER = "researcher", "Researcher"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.role} · {self.project}"


class Taxonomy(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="taxonomies")
    name = models.CharField(max_length=200, default="Step quality")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "taxonomies"

    def __str__(self) -> str:
        return f"{self.name} ({self.project})"


class TaxonomyVersion(models.Model):
    """One version of a taxonomy; immutable once published_at is set."""

    taxonomy = models.ForeignKey(Taxonomy, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    previous = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="next_versions"
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["taxonomy", "number"]
        constraints = [
            models.UniqueConstraint(fields=["taxonomy", "number"], name="taxonomy_version_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.taxonomy.name} v{self.number}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


class Category(models.Model):
    version = models.ForeignKey(TaxonomyVersion, on_delete=models.CASCADE, related_name="categories")
    key = models.SlugField(max_length=50)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    polarity = models.SmallIntegerField(choices=Polarity.choices)
    hotkey = models.CharField(max_length=1, blank=True)
    colour = models.CharField(max_length=7, default="#888888", help_text="#rrggbb")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    is_rationale_required = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["version", "position", "id"]
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(fields=["version", "key"], name="category_key_unique"),
            models.UniqueConstraint(
                fields=["version", "hotkey"],
                condition=~Q(hotkey=""),
                name="category_hotkey_unique",
            ),
            models.CheckConstraint(
                condition=Q(polarity__gte=-1) & Q(polarity__lte=1), name="category_polarity_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.key})"


class CategoryMapping(models.Model):
    """How a category of an older version maps onto one of a newer version."""

    from_category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="mapped_to")
    to_version = models.ForeignKey(TaxonomyVersion, on_delete=models.CASCADE, related_name="mappings")
    to_category = models.ForeignKey(Category, on_delete=models.CASCADE, related_name="mapped_from")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["from_category", "to_version"], name="category_mapping_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_category_id} → {self.to_category_id}"


class ImportJob(models.Model):
    State = JobState

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="import_jobs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    file = models.FileField(upload_to="imports/%Y/%m/", blank=True)
    filename = models.CharField(max_length=255, blank=True)
    format = models.CharField(max_length=20, default="auto")
    splitter = models.CharField(max_length=200, blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    processed_lines = models.PositiveIntegerField(default=0)
    total_lines = models.PositiveIntegerField(default=0)
    result = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"import {self.pk} of {self.filename} ({self.state})"


class Trace(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="traces")
    external_id = models.CharField(max_length=200, blank=True, help_text="Id in the source file.")
    problem = models.TextField()
    final_answer = models.TextField(blank=True)
    ground_truth_answer = models.TextField(blank=True)
    is_outcome_correct = models.BooleanField(null=True, blank=True)
    generator = models.CharField(max_length=200, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    source_format = models.CharField(max_length=20, blank=True)
    content_hash = models.CharField(max_length=64)
    step_count = models.PositiveIntegerField(default=0)
    is_qc = models.BooleanField(default=False, help_text="Quality-control trace with gold labels.")
    import_job = models.ForeignKey(
        ImportJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="traces"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "content_hash"], name="trace_content_unique"),
        ]
        indexes = [
            models.Index(fields=["project", "generator"], name="trace_project_generator"),
        ]

    def __str__(self) -> str:
        return f"trace {self.pk} ({self.external_id or self.content_hash[:8]})"


class Step(models.Model):
    trace = models.ForeignKey(Trace, on_delete=models.CASCADE, related_name="steps")
    index = models.PositiveIntegerField(help_text="0-based position in the trace.")
    text = models.TextField()

    class Meta:
        ordering = ["trace", "index"]
        constraints = [
            models.UniqueConstraint(fields=["trace", "index"], name="step_index_unique"),
            models.CheckConstraint(condition=Q(index__gte=0), name="step_index_non_negative"),
        ]

    def __str__(self) -> str:
        return f"step {self.index} of trace {self.trace_id}"


class Assignment(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        IN_PROGRESS = "in_progress", "In progress"
        SUBMITTED = "submitted", "Submitted"
        SKIPPED = "skipped", "Skipped"

    class SkipReason(models.TextChoices):
        BAD_PROBLEM = "bad_problem", "Bad problem"
        CANNOT_JUDGE = "cannot_judge", "Cannot judge"
        OTHER = "other", "Other"

    trace = models.ForeignKey(Trace, on_delete=models.CASCADE, related_name="assignments")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments"
    )
    state = models.CharField(max_length=20, choices=State.choices, default=State.QUEUED)
    skip_reason = models.CharField(max_length=20, choices=SkipReason.choices, blank=True)
    skip_note = models.TextField(blank=True)
    seconds_spent = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["trace", "annotator"], name="assignment_unique"),
            models.CheckConstraint(condition=Q(seconds_spent__gte=0), name="assignment_seconds"),
        ]
        indexes = [
            models.Index(fields=["annotator", "state"], name="assignment_annotator_state"),
        ]

    def __str__(self) -> str:
        return f"{self.annotator} on trace {self.trace_id} ({self.state})"


class StepLabel(models.Model):
    """One annotator's current label of one step; earlier values live in StepLabelChange."""

    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="labels")
    # Denormalised from step and category so agreement and export read one table.
    trace = models.ForeignKey(Trace, on_delete=models.CASCADE, related_name="step_labels")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="step_labels"
    )
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="step_labels")
    polarity = models.SmallIntegerField(choices=Polarity.choices)
    rationale = models.TextField(blank=True)
    is_unsure = models.BooleanField(default=False)
    # +1 on every update: the labels fingerprint sums it, which, unlike the latest updated_at
    # or id, moves whatever order concurrent updates commit in.
    revision = models.PositiveIntegerField(db_default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["step", "annotator"], name="step_label_unique"),
            models.CheckConstraint(
                condition=Q(polarity__gte=-1) & Q(polarity__lte=1), name="step_label_polarity_range"
            ),
        ]
        indexes = [
            models.Index(fields=["trace", "annotator"], name="step_label_trace_annotator"),
            models.Index(fields=["annotator", "updated_at"], name="step_label_annotator_time"),
        ]

    def __str__(self) -> str:
        return f"{self.annotator} → step {self.step_id}: {self.polarity:+d}"


class StepLabelChange(models.Model):
    """History of step labels: one row per create, update or delete."""

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"
        DELETED = "deleted", "Deleted"

    step = models.ForeignKey(Step, on_delete=models.CASCADE, related_name="label_changes")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="step_label_changes"
    )
    action = models.CharField(max_length=10, choices=Action.choices)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    polarity = models.SmallIntegerField(null=True, blank=True, choices=Polarity.choices)
    rationale = models.TextField(blank=True)
    is_unsure = models.BooleanField(default=False)
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["step", "changed_at", "id"]
        indexes = [models.Index(fields=["step", "annotator"], name="step_label_change_step")]

    def __str__(self) -> str:
        return f"{self.action} by {self.annotator_id} on step {self.step_id}"


class GoldLabel(models.Model):
    class Method(models.TextChoices):
        LEAD = "lead", "Lead decision"
        UNANIMOUS = "unanimous", "Unanimous"
        MAJORITY = "majority", "Majority"
        QC = "qc", "Quality-control key"

    step = models.OneToOneField(Step, on_delete=models.CASCADE, related_name="gold_label")
    trace = models.ForeignKey(Trace, on_delete=models.CASCADE, related_name="gold_labels")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="gold_labels")
    polarity = models.SmallIntegerField(choices=Polarity.choices)
    method = models.CharField(max_length=20, choices=Method.choices)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(auto_now=True)
    note = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(polarity__gte=-1) & Q(polarity__lte=1), name="gold_label_polarity_range"
            ),
        ]

    def __str__(self) -> str:
        return f"gold {self.polarity:+d} on step {self.step_id} ({self.method})"


class AgreementReport(models.Model):
    """A cached agreement computation, valid while the project's labels are unchanged."""

    State = JobState

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="agreement_reports")
    params_key = models.CharField(max_length=64, help_text="sha256 of the normalised options.")
    params = models.JSONField(default=dict)
    labels_fingerprint = models.CharField(max_length=255, blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "params_key"], name="agreement_report_unique"),
        ]

    def __str__(self) -> str:
        return f"agreement report {self.pk} of {self.project_id} ({self.state})"
