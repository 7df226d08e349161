"""`manage.py agreement PROJECT_SLUG`: print a project's agreement figures as a table or JSON."""
from __future__ import annotations

from typing import Any

import orjson
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_datetime

from labeling.models import Project
from labeling.selectors.agreement import AgreementFilters
from labeling.services.agreement import AgreementParams, agreement_report_compute


def _when(value: str | None, option: str):
    if not value:
        return None
    parsed = parse_datetime(value)
    if parsed is None:
        raise CommandError(f"{option}: {value!r} is not an ISO date or date-time")
    return parsed


def _fmt(figure: dict[str, Any] | None, digits: int = 3) -> str:
    if not figure:
        return "-"
    if figure.get("value") is None:
        return f"undefined ({figure.get('reason', 'no reason')})"
    text = f"{figure['value']:.{digits}f}"
    if figure.get("ci_low") is not None:
        text += f"  [{figure['ci_low']:.{digits}f}, {figure['ci_high']:.{digits}f}]"
    return text


def render_table(result: dict[str, Any]) -> str:
    """Return the readable plain-text report."""
    lines: list[str] = []
    boot = result.get("bootstrap")
    lines.append(
        f"labels {result['n_labels']}  steps {result['n_items']} "
        f"(shared {result['n_pairable_items']})  traces {result['n_traces']}  "
        f"annotators {result['n_annotators']}"
    )
    if boot:
        lines.append(
            f"intervals: {boot['confidence'] * 100:g} % bootstrap, {boot['resamples']} "
            f"trace resamples, seed {boot['seed']}"
        )
    lines.append("")
    headline = [
        ("Percent agreement", "percent_agreement"),
        ("Cohen's kappa (mean of pairs)", "cohen_kappa_mean"),
        ("Fleiss' kappa", "fleiss_kappa"),
        ("Krippendorff's alpha, nominal (category)", "krippendorff_alpha_nominal"),
        ("Krippendorff's alpha, ordinal (polarity)", "krippendorff_alpha_ordinal"),
        ("Krippendorff's alpha, interval (polarity)", "krippendorff_alpha_interval"),
    ]
    pair_names = [
        f"{p['annotator_a']} / {p['annotator_b']} (n={p['n_items']})"
        for p in result["cohen_kappa_pairs"]
    ]
    width = max(
        [len(label) for label, _ in headline]
        + [len(n) + 2 for n in pair_names]
        + [len(r["annotator"]) + 2 for r in result["per_annotator"]]
        + [len(r["category"]) + 2 for r in result["per_category"]]
    ) + 2
    for label, key in headline:
        lines.append(f"{label:<{width}}{_fmt(result.get(key))}")
    fe = result["first_error"]
    lines += [
        "",
        f"First error ({fe['n_traces']} traces, {fe['n_pairs']} annotator pairs)",
        f"  {'exact match':<{width - 2}}{_fmt(fe['exact_match'])}",
        f"  {'mean |distance| (steps)':<{width - 2}}{_fmt(fe['mean_abs_distance'], 2)}",
        f"  {'kappa on has-error':<{width - 2}}{_fmt(fe['has_error_kappa'])}",
    ]
    if result["cohen_kappa_pairs"]:
        lines += ["", "Cohen's kappa by pair"]
        for pair, name in zip(result["cohen_kappa_pairs"], pair_names, strict=True):
            lines.append(f"  {name:<{width - 2}}{_fmt(pair)}")
    if result["per_annotator"]:
        lines += ["", "Per annotator: labels, agreement with consensus / with gold"]
        for row in result["per_annotator"]:
            lines.append(
                f"  {row['annotator']:<{width - 2}}{row['n_labels']:>8}  "
                f"consensus {_fmt(row['consensus']['agreement'])}  "
                f"gold {_fmt(row['gold']['agreement'])}"
            )
    if result["per_category"]:
        lines += ["", "Per category (one against the rest): kappa, specific agreement"]
        for row in result["per_category"]:
            lines.append(
                f"  {row['category']:<{width - 2}}{row['n_labels']:>8}  "
                f"{_fmt(row['kappa'])}  specific {_fmt(row['specific_agreement'])}"
            )
    return "\n".join(lines) + "\n"


class Command(BaseCommand):
    help = "Print agreement figures of a project (percent agreement, kappas, alphas, first error)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("project_slug")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")
        parser.add_argument("--bootstrap", type=int, default=0, metavar="N",
                            help="Trace resamples for 95 %% intervals (0 = none).")
        parser.add_argument("--seed", type=int, default=0, metavar="S")
        parser.add_argument("--confidence", type=float, default=0.95, metavar="C",
                            help="Interval level, between 0 and 1 (default 0.95).")
        parser.add_argument("--include-sources", action="store_true",
                            help="Also count labels imported with the traces (source annotators).")
        parser.add_argument("--annotators", default="", help="Comma-separated usernames.")
        parser.add_argument("--since", default=None, help="Labels updated at or after (ISO).")
        parser.add_argument("--until", default=None, help="Labels updated at or before (ISO).")
        parser.add_argument("--taxonomy-version", type=int, default=None, metavar="NUMBER")
        parser.add_argument("--metadata", action="append", default=[], metavar="KEY:VALUE",
                            help="Only traces whose metadata KEY equals VALUE; repeatable.")

    def handle(self, *args: Any, **options: Any) -> None:
        slug = options["project_slug"]
        project = Project.objects.filter(slug=slug).first()
        if project is None:
            raise CommandError(f"No project with slug {slug!r}.")
        if options["bootstrap"] < 0:
            raise CommandError("--bootstrap must be 0 or more")
        if not 0 < options["confidence"] < 1:
            raise CommandError("--confidence must be between 0 and 1, e.g. 0.95")
        metadata = []
        for item in options["metadata"]:
            key, sep, value = item.partition(":")
            if not sep or not key:
                raise CommandError(f"--metadata {item!r}: expected KEY:VALUE")
            metadata.append((key, value))
        try:
            filters = AgreementFilters(
                taxonomy_version=options["taxonomy_version"],
                since=_when(options["since"], "--since"),
                until=_when(options["until"], "--until"),
                annotators=tuple(a for a in options["annotators"].split(",") if a),
                metadata=tuple(metadata),
                include_sources=options["include_sources"],
            )
        except ValueError as exc:
            raise CommandError(f"--metadata: {exc}") from exc
        params = AgreementParams(
            filters=filters,
            n_resamples=options["bootstrap"],
            seed=options["seed"],
            confidence=options["confidence"],
        )
        result = agreement_report_compute(project=project, params=params)
        if options["json"]:
            self.stdout.write(orjson.dumps(result).decode())
        else:
            self.stdout.write(render_table(result), ending="")
