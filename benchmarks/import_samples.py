"""Import every real sample of /work/shared/datasets into a fresh SQLite file and check counts.

    python -m benchmarks import_samples [DATASETS_DIR]

For each file: records, traces, trace steps, labeled steps, labels and source annotators, then
a second import that must add nothing. PRM800K's SOURCES.md step counts (42 and 76) count
`label.steps` (rated positions); trace steps differ (see the notes printed at the end).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> None:
    datasets = Path(argv[0] if argv else "/work/shared/datasets")
    files = sorted(datasets.glob("*.jsonl")) + sorted(datasets.glob("*.json"))
    if not files:
        print(f"no samples in {datasets}")
        sys.exit(1)
    tmp = tempfile.mkdtemp(prefix="import_samples_")
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/samples.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db.models import Count

    from labeling.models import StepLabel, Trace
    from labeling.services.imports import trace_import
    from labeling.services.projects import project_create

    call_command("migrate", verbosity=0)
    print(
        f"{'file':<42} {'format':<13} {'records':>7} {'traces':>6} {'steps':>6} "
        f"{'labeled':>7} {'labels':>6} {'annotators':>10}  re-import"
    )
    ok = True
    for path in files:
        project = project_create(name=path.stem, slug=path.stem.replace("_", "-"))
        result = trace_import(project=project, path=path)
        labels = StepLabel.objects.filter(trace__project=project)
        labeled_steps = labels.values("step_id").distinct().count()
        annotators = labels.values("annotator").annotate(n=Count("id")).count()
        sources = set(labels.values_list("annotator__is_source", flat=True))
        again = trace_import(project=project, path=path)
        nothing_new = (again.traces_added, again.steps_added, again.labels_added) == (0, 0, 0)
        ok &= nothing_new and sources <= {True}
        ok &= Trace.objects.filter(project=project).count() == result.traces_added
        print(
            f"{path.name:<42} {result.format:<13} {result.records:>7} {result.traces_added:>6} "
            f"{result.steps_added:>6} {labeled_steps:>7} {result.labels_added:>6} "
            f"{annotators:>10}  {'adds nothing' if nothing_new else 'ADDED ROWS'} "
            f"({again.duplicates_skipped} duplicates)"
        )
    print(
        "\nPRM800K: trace steps are the labeled path (phase 1: chosen or human completion; the\n"
        "give-up record ends before its last, unchosen position, so 41 of 42 positions) or all\n"
        "pre_generated_steps (phase 2: 177, of which the 76 positions in label.steps are rated).\n"
        "Phase-1 human completions carry no rating, so 28 of the 41 path steps are labeled."
    )
    print("all checks passed" if ok else "SOME CHECKS FAILED")
    sys.exit(0 if ok else 1)
