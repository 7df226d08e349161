"""API endpoints for agreement: one project's agreement report, cached until labels change."""
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.permissions import IsLeadOrResearcher, ProjectScopedMixin
from labeling.models import AgreementReport
from labeling.selectors.agreement import METADATA_KEY, AgreementFilters
from labeling.services.agreement import AgreementParams, agreement_report_get_or_schedule
from labeling.tasks.agreement import agreement_report_compute_task


class FigureSerializer(serializers.Serializer):
    """A statistic: value with optional interval, or null with the reason it is undefined."""

    value = serializers.FloatField(allow_null=True)
    reason = serializers.CharField(required=False)
    # Not allow_null: DRF would then print null for an absent key; a None value still renders.
    ci_low = serializers.FloatField(required=False, help_text="Absent without a bootstrap.")
    ci_high = serializers.FloatField(required=False, help_text="Absent without a bootstrap.")
    ci_reason = serializers.CharField(required=False)
    ci_resamples_defined = serializers.IntegerField(required=False)
    n_items = serializers.IntegerField(required=False)
    n_pairs = serializers.IntegerField(required=False)


class PairFigureSerializer(FigureSerializer):
    annotator_a = serializers.CharField()
    annotator_b = serializers.CharField()


class FirstErrorSerializer(serializers.Serializer):
    n_traces = serializers.IntegerField()
    n_pairs = serializers.IntegerField()
    exact_match = FigureSerializer()
    mean_abs_distance = FigureSerializer()
    has_error_kappa = FigureSerializer()


class ConsensusSerializer(serializers.Serializer):
    n_items = serializers.IntegerField()
    n_ties = serializers.IntegerField(required=False)
    agreement = FigureSerializer()
    kappa = FigureSerializer()


class PerAnnotatorSerializer(serializers.Serializer):
    annotator = serializers.CharField()
    n_labels = serializers.IntegerField()
    n_shared_items = serializers.IntegerField()
    consensus = ConsensusSerializer()
    gold = ConsensusSerializer()


class PerCategorySerializer(serializers.Serializer):
    category = serializers.CharField()
    n_labels = serializers.IntegerField()
    kappa = FigureSerializer()
    specific_agreement = FigureSerializer()


class WeekSerializer(serializers.Serializer):
    """One ISO week: labels made, traces submitted, agreement of the steps completed."""

    week = serializers.CharField()
    week_start = serializers.DateField()
    labels_made = serializers.IntegerField()
    traces_submitted = serializers.IntegerField()
    pairable_steps = serializers.IntegerField()
    percent_agreement = serializers.FloatField(allow_null=True)
    fleiss_kappa = serializers.FloatField(allow_null=True)
    krippendorff_alpha_nominal = serializers.FloatField(allow_null=True)


class AgreementResultSerializer(serializers.Serializer):
    """The agreement report, as `manage.py agreement --json` prints it."""

    n_labels = serializers.IntegerField()
    n_items = serializers.IntegerField(help_text="Steps with at least one label.")
    n_pairable_items = serializers.IntegerField(help_text="Steps with two or more labels.")
    n_traces = serializers.IntegerField()
    n_annotators = serializers.IntegerField()
    annotators = serializers.ListField(child=serializers.CharField())
    categories = serializers.ListField(child=serializers.CharField())
    bootstrap = serializers.DictField(allow_null=True)
    percent_agreement = FigureSerializer()
    cohen_kappa_mean = FigureSerializer()
    cohen_kappa_pairs = PairFigureSerializer(many=True)
    fleiss_kappa = FigureSerializer()
    krippendorff_alpha_nominal = FigureSerializer()
    krippendorff_alpha_ordinal = FigureSerializer()
    krippendorff_alpha_interval = FigureSerializer()
    first_error = FirstErrorSerializer()
    confusion = serializers.DictField(help_text="labels, pooled matrix, per-pair matrices")
    per_annotator = PerAnnotatorSerializer(many=True)
    per_category = PerCategorySerializer(many=True)
    notes = serializers.DictField(child=serializers.CharField())
    weekly = WeekSerializer(many=True, required=False, help_text="With weekly_trend only.")
    params = serializers.DictField()


class AgreementPendingSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=AgreementReport.State.choices)
    report_id = serializers.IntegerField()
    task = serializers.CharField()
    detail = serializers.CharField()


class AgreementReportApi(ProjectScopedMixin, APIView):
    """Agreement figures of the project's step labels (leads and researchers)."""

    permission_classes = [IsLeadOrResearcher]

    class InputSerializer(serializers.Serializer):
        bootstrap = serializers.IntegerField(
            min_value=0, max_value=10_000, default=0, help_text="Trace resamples for 95 % CIs."
        )
        seed = serializers.IntegerField(min_value=0, default=0)
        confidence = serializers.FloatField(
            min_value=0.5, max_value=0.999, default=0.95, help_text="Interval level."
        )
        include_sources = serializers.BooleanField(
            default=False, help_text="Count labels imported with the traces."
        )
        weekly_trend = serializers.BooleanField(
            default=False, help_text="Also compute agreement per ISO week (the dashboard's)."
        )
        annotators = serializers.CharField(
            required=False, allow_blank=True, help_text="Comma-separated usernames."
        )
        since = serializers.DateTimeField(required=False, help_text="Labels updated at or after.")
        until = serializers.DateTimeField(required=False, help_text="Labels updated at or before.")
        taxonomy_version = serializers.IntegerField(min_value=1, required=False)
        metadata = serializers.ListField(
            child=serializers.CharField(), required=False,
            help_text="key:value on trace metadata; repeat for several.",
        )

        def validate_metadata(self, value: list[str]) -> list[tuple[str, str]]:
            pairs = []
            for item in value:
                key, sep, val = item.partition(":")
                if not sep or not METADATA_KEY.match(key) or "__" in key:
                    raise serializers.ValidationError(
                        f"{item!r}: expected key:value, key of letters, digits, '_', '-', '.'"
                    )
                pairs.append((key, val))
            return pairs

        def validate(self, attrs: dict) -> dict:
            since, until = attrs.get("since"), attrs.get("until")
            if since and until and since > until:
                raise serializers.ValidationError({"until": "must not be before since"})
            return attrs

    @extend_schema(
        parameters=[InputSerializer],
        responses={
            200: AgreementResultSerializer,
            202: OpenApiResponse(
                AgreementPendingSerializer,
                description="Large project: computed by a Celery task; ask again later.",
            ),
        },
        description=(
            "Percent agreement, Cohen's kappa per pair and mean, Fleiss' kappa, Krippendorff's "
            "alpha (nominal on categories, ordinal/interval on polarity), first-error agreement, "
            "confusion matrices, per-annotator (consensus, gold) and per-category figures. "
            "Undefined figures are null with a reason. Cached until the project's labels change; "
            "above AGREEMENT_ASYNC_LABEL_THRESHOLD labels, computed in the background (202)."
        ),
    )
    def get(self, request, slug: str) -> Response:
        project = self.get_project()
        data = self.InputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        params = AgreementParams(
            filters=AgreementFilters(
                taxonomy_version=v.get("taxonomy_version"),
                since=v.get("since"),
                until=v.get("until"),
                annotators=tuple(
                    name.strip() for name in v.get("annotators", "").split(",") if name.strip()
                ),
                metadata=tuple(v.get("metadata", [])),
                include_sources=v["include_sources"],
            ),
            n_resamples=v["bootstrap"],
            seed=v["seed"],
            confidence=v["confidence"],
            weekly_trend=v["weekly_trend"],
        )
        report = agreement_report_get_or_schedule(
            project=project, params=params, schedule=agreement_report_compute_task.delay
        )
        if report.state == AgreementReport.State.SUCCEEDED:
            return Response(AgreementResultSerializer(report.result).data)
        pending = {
            "state": report.state,
            "report_id": report.pk,
            "task": agreement_report_compute_task.name,
            "detail": "Agreement is being computed in the background; ask again shortly.",
        }
        if report.state == AgreementReport.State.FAILED:
            # Kept until the labels change or RETRY_FAILED_AFTER: asking again soon won't help.
            pending["detail"] = f"The agreement computation failed: {report.error}"
        return Response(AgreementPendingSerializer(pending).data, status=status.HTTP_202_ACCEPTED)


urlpatterns = [
    path(
        "projects/<slug:slug>/agreement/",
        AgreementReportApi.as_view(),
        name="agreement-report",
    ),
]
