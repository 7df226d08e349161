"""Time the adjudication list page on a large PostgreSQL project.

    python -m benchmarks adjudication [--traces 10000] [--annotators 20] [--labels 200000]
                                      [--repeat 15] [--server postgres://postgres@127.0.0.1:5432]

Creates a fresh database `bench_adjudication`, migrates it, fills it with one project of
`--traces` traces, `--annotators` annotators and `--labels` step labels (COPY), then times
the lead's adjudication list page through the Django test client and prints the median
against the 200 ms target: "cold" clears the cache before each request (the ranking is
recounted from every label), "churn" changes one label through the label service before
each request (the steady state while annotators work: only touched traces are recounted),
"warm" changes nothing between requests. The database is dropped at the end (unless --keep).
"""
import argparse
import hashlib
import os
import random
import statistics
import time
from datetime import UTC, datetime

from benchmarks._common import (
    STEPLABEL_COLUMNS,
    copy_rows,
    drop_database,
    process_cpu_seconds,
    recreate_database,
)

DB_NAME = "bench_adjudication"
TARGET_MS = 200.0


def _cpu_seconds(pid: int) -> float:
    """CPU time of a local process (0 once it is gone): per request, this process plus its
    PostgreSQL backend is what the page costs when a core is free."""
    try:
        return process_cpu_seconds(pid)
    except OSError:
        return 0.0



def _fill(n_traces: int, n_annotators: int, n_labels: int, seed: int) -> tuple[object, str]:
    from django.db import connection

    from labeling.models import Membership, Step, StepLabel, Trace, User
    from labeling.services.projects import project_create

    rng = random.Random(seed)
    lead = User.objects.create(username="bench-lead")
    project = project_create(name="Benchmark", slug="bench", lead=lead)
    annotators = User.objects.bulk_create(
        [User(username=f"bench-ann-{i}", password="!") for i in range(n_annotators)]
    )
    Membership.objects.bulk_create(
        Membership(project=project, user=u, role=Membership.Role.ANNOTATOR) for u in annotators
    )
    categories = list(project.taxonomy_version.categories.values_list("id", "polarity"))
    # Each trace is labelled by `per_trace` annotators over all its steps.
    per_trace = 2
    steps_per_trace = max(1, round(n_labels / (n_traces * per_trace)))
    now = datetime.now(tz=UTC).isoformat()
    traces = Trace.objects.bulk_create(
        [
            Trace(
                project=project, external_id=f"b-{i}", problem=f"Benchmark problem {i}",
                content_hash=hashlib.sha256(f"bench-{i}".encode()).hexdigest(),
                step_count=steps_per_trace,
            )
            for i in range(n_traces)
        ],
        batch_size=5000,
    )
    with connection.cursor() as cursor:
        raw = cursor.cursor
        copy_rows(raw, Step._meta.db_table, ["trace_id", "index", "text"],
              ((t.pk, i, f"Step {i + 1} of trace {t.pk}") for t in traces
               for i in range(steps_per_trace)))
        cursor.execute(
            f"SELECT id, trace_id, index FROM {Step._meta.db_table} ORDER BY trace_id, index"
        )
        steps_by_trace: dict[int, list[int]] = {}
        for step_id, trace_id, _ in cursor.fetchall():
            steps_by_trace.setdefault(trace_id, []).append(step_id)

        def labels():
            written = 0
            for trace in traces:
                who = rng.sample(annotators, per_trace)
                for step_id in steps_by_trace[trace.pk]:
                    base = rng.choice(categories)
                    for user in who:
                        if written >= n_labels:
                            return
                        # About one step in six gets a different label from someone.
                        category = rng.choice(categories) if rng.random() < 0.12 else base
                        written += 1
                        yield (step_id, trace.pk, user.pk, category[0], category[1], "", "f",
                               now, now)

        copy_rows(raw, StepLabel._meta.db_table, STEPLABEL_COLUMNS, labels())
        cursor.execute("ANALYZE")
    return project, lead


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks adjudication")
    parser.add_argument("--traces", type=int, default=10_000)
    parser.add_argument("--annotators", type=int, default=20)
    parser.add_argument("--labels", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)

    recreate_database(f"{args.server}/postgres", DB_NAME)
    os.environ["DATABASE_URL"] = f"{args.server}/{DB_NAME}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
    import django

    django.setup()
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection, connections
    from django.test import Client
    from django.urls import reverse

    from labeling.models import Step, StepLabel
    from labeling.services.labels import LabelInput, step_labels_set

    def _index(label) -> int:
        return Step.objects.values_list("index", flat=True).get(pk=label.step_id)

    try:
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        project, lead = _fill(args.traces, args.annotators, args.labels, args.seed)
        label_count = StepLabel.objects.count()
        print(f"data: {args.traces} traces, {args.annotators} annotators, {label_count} labels "
              f"({time.perf_counter() - started:.1f} s to build)")

        client = Client()
        client.force_login(lead)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend_pid = cursor.fetchone()[0]
        labels = list(StepLabel.objects.filter(trace__project=project)
                      .select_related("trace", "annotator").order_by("?")[:200])
        keys = ["positive", "neutral", "negative"]
        rng = random.Random(args.seed)

        def relabel() -> None:
            one = rng.choice(labels)
            step_labels_set(trace=one.trace, annotator=one.annotator, labels=[
                LabelInput(_index(one), rng.choice(keys))])

        pages = [
            ("list page 1 (HTML)", reverse("lead:adjudication", args=[project.slug])),
            ("list page 20 (HTML)", reverse("lead:adjudication", args=[project.slug]) + "?page=20"),
            ("list page 1 (API)", reverse("labeling:lead-adjudication", args=[project.slug])),
        ]
        for name, url in pages:
            assert client.get(url).status_code == 200  # warm-up, and a check the page works
            for mode in ("cold", "churn", "warm"):
                timings = []
                cpu_spent = 0.0
                for _ in range(args.repeat):
                    if mode == "cold":
                        cache.clear()  # nothing cached: one grouped pass over every label
                    elif mode == "churn":
                        relabel()  # an annotator changes a label between two page views
                    db_cpu = _cpu_seconds(backend_pid)
                    c0 = time.process_time()
                    t0 = time.perf_counter()
                    response = client.get(url)
                    timings.append((time.perf_counter() - t0) * 1000)
                    cpu_spent += time.process_time() - c0 + _cpu_seconds(backend_pid) - db_cpu
                    assert response.status_code == 200
                median = statistics.median(timings)
                verdict = "within" if median <= TARGET_MS else "OVER"
                cpu_ms = 1000 * cpu_spent / args.repeat
                print(f"{name:20s} {mode:5s}  median {median:7.1f} ms  min {min(timings):7.1f} ms"
                      f"  max {max(timings):7.1f} ms  cpu {cpu_ms:6.1f} ms/request"
                      f"  ({verdict} the {TARGET_MS:.0f} ms target, n={args.repeat})")
    finally:
        connections.close_all()
        if not args.keep:
            drop_database(f"{args.server}/postgres", DB_NAME)
