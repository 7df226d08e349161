"""Django admin for every labeling model, tuned for tables with millions of rows."""
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from labeling import models


@admin.register(models.User)
class UserAdminWithSource(UserAdmin):
    list_display = ["username", "email", "is_source", "is_staff", "is_active"]
    list_filter = ["is_source", "is_staff", "is_active"]
    fieldsets = [*UserAdmin.fieldsets, ("Source annotator", {"fields": ["is_source"]})]


class MembershipInline(admin.TabularInline):
    model = models.Membership
    raw_id_fields = ["user"]
    extra = 0


@admin.register(models.Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "overlap", "labeling_mode", "is_blind", "queue_order", "created_at"]
    list_filter = ["labeling_mode", "is_blind", "queue_order"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    raw_id_fields = ["taxonomy_version"]
    inlines = [MembershipInline]


@admin.register(models.Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "project", "role", "created_at"]
    list_filter = ["role", "project"]
    search_fields = ["user__username", "project__slug"]
    raw_id_fields = ["user", "project"]
    list_select_related = ["user", "project"]


@admin.register(models.Taxonomy)
class TaxonomyAdmin(admin.ModelAdmin):
    list_display = ["name", "project", "created_at"]
    search_fields = ["name", "project__slug"]
    raw_id_fields = ["project"]
    list_select_related = ["project"]


class CategoryInline(admin.TabularInline):
    model = models.Category
    fk_name = "version"
    raw_id_fields = ["parent"]
    extra = 0


@admin.register(models.TaxonomyVersion)
class TaxonomyVersionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "taxonomy", "number", "published_at", "published_by"]
    list_filter = ["published_at"]
    search_fields = ["taxonomy__name", "taxonomy__project__slug"]
    raw_id_fields = ["taxonomy", "published_by", "previous"]
    list_select_related = ["taxonomy", "published_by"]
    inlines = [CategoryInline]


@admin.register(models.Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["key", "name", "polarity", "hotkey", "version", "parent", "is_rationale_required"]
    list_filter = ["polarity", "is_rationale_required"]
    search_fields = ["key", "name"]
    raw_id_fields = ["version", "parent"]
    list_select_related = ["version__taxonomy", "parent"]


@admin.register(models.CategoryMapping)
class CategoryMappingAdmin(admin.ModelAdmin):
    list_display = ["from_category", "to_category", "to_version"]
    raw_id_fields = ["from_category", "to_category", "to_version"]
    list_select_related = ["from_category", "to_category", "to_version__taxonomy"]


class StepInline(admin.TabularInline):
    model = models.Step
    fields = ["index", "text"]
    extra = 0
    show_change_link = True


@admin.register(models.Trace)
class TraceAdmin(admin.ModelAdmin):
    list_display = ["id", "external_id", "project", "generator", "source_format", "step_count", "is_qc", "created_at"]
    list_filter = ["source_format", "is_qc", "is_outcome_correct", "project"]
    search_fields = ["external_id", "problem", "content_hash", "generator"]
    raw_id_fields = ["project", "import_job"]
    list_select_related = ["project"]
    show_full_result_count = False
    inlines = [StepInline]


@admin.register(models.Step)
class StepAdmin(admin.ModelAdmin):
    list_display = ["id", "trace", "index"]
    search_fields = ["text"]
    raw_id_fields = ["trace"]
    show_full_result_count = False


@admin.register(models.Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["id", "trace", "annotator", "state", "seconds_spent", "submitted_at"]
    list_filter = ["state", "skip_reason"]
    search_fields = ["annotator__username", "trace__external_id"]
    raw_id_fields = ["trace", "annotator"]
    list_select_related = ["annotator"]
    show_full_result_count = False


@admin.register(models.StepLabel)
class StepLabelAdmin(admin.ModelAdmin):
    list_display = ["id", "step", "annotator", "category", "polarity", "is_unsure", "updated_at"]
    list_filter = ["polarity", "is_unsure", "annotator__is_source"]
    search_fields = ["annotator__username", "rationale"]
    raw_id_fields = ["step", "trace", "annotator", "category"]
    list_select_related = ["annotator", "category"]
    show_full_result_count = False


@admin.register(models.StepLabelChange)
class StepLabelChangeAdmin(admin.ModelAdmin):
    list_display = ["id", "step", "annotator", "action", "polarity", "changed_at"]
    list_filter = ["action"]
    search_fields = ["annotator__username"]
    raw_id_fields = ["step", "annotator", "category"]
    list_select_related = ["annotator"]
    show_full_result_count = False


@admin.register(models.GoldLabel)
class GoldLabelAdmin(admin.ModelAdmin):
    list_display = ["id", "step", "polarity", "category", "method", "decided_by", "decided_at"]
    list_filter = ["method", "polarity"]
    raw_id_fields = ["step", "trace", "category", "decided_by"]
    list_select_related = ["decided_by", "category"]
    show_full_result_count = False


@admin.register(models.ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "filename", "format", "state", "processed_lines", "total_lines", "created_at"]
    list_filter = ["state", "format"]
    search_fields = ["filename", "project__slug"]
    raw_id_fields = ["project", "created_by"]


@admin.register(models.AgreementReport)
class AgreementReportAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "state", "created_at", "finished_at"]
    list_filter = ["state"]
    raw_id_fields = ["project"]
