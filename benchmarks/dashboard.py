"""Dashboard speed: the agreement dashboard of a project with 10,000 traces, 20 annotators and
200,000 step labels, rendered from PostgreSQL (target: at most 1 s server time).

    python -m benchmarks dashboard [--keep-db] [--db NAME] [--pg postgres://postgres@127.0.0.1:5432]

Creates (and drops) its own PostgreSQL database (`bench_dashboard` unless --db names another), loads the rows with COPY,
warms the process up on an empty project, then times the page: cold (no agreement report
yet: the page schedules it and shows "computing…"), with the report and its weekly trend
computed (as the Celery worker would) but an empty cache, and fully warm. Prints wall time,
Server-Timing, and CPU of this process plus its PostgreSQL backend (the machine may be
loaded; CPU is what the request itself costs). Never asserts.
"""
from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from benchmarks._common import (
    STEP_COLUMNS,
    STEPLABEL_COLUMNS,
    TRACE_COLUMNS,
    copy_tsv,
    drop_database,
    process_cpu_seconds,
    recreate_database,
)

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "bench_dashboard"
N_TRACES = 10_000
STEPS_PER_TRACE = 10
N_ANNOTATORS = 20
PER_TRACE = 2  # annotators per trace: 10,000 x 10 x 2 = 200,000 labels
N_QC = 100
TARGET = 1.0


def _load(slug: str) -> None:
    """Create the project, its people, and COPY traces, steps, assignments, labels and gold."""
    from django.db import connection

    from labeling.models import Category, Membership, User
    from labeling.services.projects import membership_set, project_create

    lead = User.objects.create(username="bench-lead")
    project = project_create(name="Dashboard bench", slug=slug, lead=lead, overlap=PER_TRACE)
    people = [User.objects.create(username=f"ann{i:02d}") for i in range(N_ANNOTATORS)]
    for person in people:
        membership_set(project=project, user=person, role=Membership.Role.ANNOTATOR)
    cats = {c.polarity: c.pk for c in Category.objects.filter(version=project.taxonomy_version)}
    rng = np.random.default_rng(0)
    n_steps = N_TRACES * STEPS_PER_TRACE
    truth = rng.choice(3, n_steps, p=[0.2, 0.2, 0.6])  # 0 negative, 1 neutral, 2 positive
    first = rng.integers(0, N_ANNOTATORS, N_TRACES)
    second = (first + rng.integers(1, N_ANNOTATORS, N_TRACES)) % N_ANNOTATORS
    pair = np.stack([first, second], axis=1)
    start = datetime(2026, 1, 5, tzinfo=UTC)
    minutes = rng.integers(0, 12 * 7 * 24 * 60, N_TRACES)  # twelve weeks of work
    done_at = [start + timedelta(minutes=int(m)) for m in minutes]
    trace_id0 = step_id0 = 1_000_000
    pol_cat = [cats[-1], cats[0], cats[1]]
    traces, steps, assignments, labels, gold = (io.StringIO() for _ in range(5))
    for t in range(N_TRACES):
        tid = trace_id0 + t
        when = done_at[t].isoformat()
        is_qc = "t" if t < N_QC else "f"
        traces.write(f"{tid}\t{project.pk}\tb{t}\tProblem {t}\t\t\t\\N\tbench\t{{}}\tnative\t"
                     f"h{t}\t{STEPS_PER_TRACE}\t{is_qc}\t\\N\t{when}\n")
        for i in range(STEPS_PER_TRACE):
            sid = step_id0 + t * STEPS_PER_TRACE + i
            steps.write(f"{sid}\t{tid}\t{i}\tStep {i}\n")
            if t < N_QC:
                v = int(truth[sid - step_id0])
                gold.write(f"{sid}\t{tid}\t{pol_cat[v]}\t{v - 1}\tqc\t\\N\t{when}\t\n")
        for a in pair[t].tolist():
            person = people[a]
            seconds = float(rng.gamma(4.0, 30.0))
            assignments.write(f"{tid}\t{person.pk}\tsubmitted\t\t\t{seconds:.1f}\t{when}\t"
                              f"{when}\t{when}\t{when}\n")
            noise = rng.random(STEPS_PER_TRACE) < 0.15
            values = np.where(noise, rng.integers(0, 3, STEPS_PER_TRACE),
                              truth[t * STEPS_PER_TRACE:(t + 1) * STEPS_PER_TRACE])
            for i, v in enumerate(values.tolist()):
                sid = step_id0 + t * STEPS_PER_TRACE + i
                labels.write(f"{sid}\t{tid}\t{person.pk}\t{pol_cat[v]}\t{v - 1}\t\tf\t{when}\t"
                             f"{when}\n")
    with connection.cursor() as cursor:
        raw = cursor.cursor
        cursor.execute("SET session_replication_role = replica")
        copy_tsv(raw, "labeling_trace", TRACE_COLUMNS, traces)
        copy_tsv(raw, "labeling_step", STEP_COLUMNS, steps)
        copy_tsv(raw, "labeling_assignment", [
            "trace_id", "annotator_id", "state", "skip_reason", "skip_note", "seconds_spent",
            "created_at", "started_at", "submitted_at", "updated_at"], assignments)
        copy_tsv(raw, "labeling_steplabel", STEPLABEL_COLUMNS, labels)
        copy_tsv(raw, "labeling_goldlabel", [
            "step_id", "trace_id", "category_id", "polarity", "method", "decided_by_id",
            "decided_at", "note"], gold)
        cursor.execute("SET session_replication_role = DEFAULT")
        for table in ("trace", "step", "assignment", "steplabel", "goldlabel"):
            cursor.execute(f"VACUUM ANALYZE labeling_{table}")


def _time_page(client, url: str, label: str) -> None:
    from django.db import connection

    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    try:
        server0 = process_cpu_seconds(backend)
    except OSError:
        server0 = None
    c0, t0 = time.process_time(), time.perf_counter()
    response = client.get(url)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    pg_cpu = process_cpu_seconds(backend) - server0 if server0 is not None else float("nan")
    timing = response.get("Server-Timing", "")
    verdict = "OK" if wall <= TARGET else "OVER"
    print(f"  {label:<52} {wall:6.3f} s wall  [{verdict} vs {TARGET:.0f} s]  "
          f"CPU {cpu + pg_cpu:6.3f} s (Python {cpu:.3f} + PostgreSQL {pg_cpu:.3f})  "
          f"HTTP {response.status_code}, {timing}, {len(response.content):,} bytes", flush=True)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks dashboard")
    parser.add_argument("--db", default=DB_NAME, help="Database to (re)create for the run.")
    parser.add_argument("--keep-db", action="store_true", help="Keep the database afterwards.")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432",
                        help="PostgreSQL server URL without a database name.")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))

    admin_url = f"{args.pg.rstrip('/')}/postgres"
    db_name = args.db
    url = f"{args.pg.rstrip('/')}/{db_name}"
    recreate_database(admin_url, db_name)
    # The report above the async threshold goes to a Celery worker: queue it (memory broker,
    # nobody consumes it) instead of computing it eagerly inside the timed request.
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "annotator.settings",
           "CELERY_TASK_ALWAYS_EAGER": "false", "CELERY_BROKER_URL": "memory://"}
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env,
                       check=True)
        os.environ.update(env)
        import django

        django.setup()
        from django.conf import settings
        from django.core.cache import cache
        from django.test import Client

        from labeling.models import AgreementReport, User
        from labeling.services.agreement import agreement_report_refresh
        from labeling.services.projects import project_create

        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
        slug = "bench-dashboard"
        t0 = time.perf_counter()
        _load(slug)
        print(f"Loaded {N_TRACES:,} traces, {N_TRACES * STEPS_PER_TRACE:,} steps, "
              f"{N_TRACES * STEPS_PER_TRACE * PER_TRACE:,} labels, {N_ANNOTATORS} annotators, "
              f"{N_QC} QC traces with COPY in {time.perf_counter() - t0:.1f} s "
              f"(load average {os.getloadavg()[0]:.1f})")
        client = Client()
        lead = User.objects.get(username="bench-lead")
        client.force_login(lead)
        # Warm the process (URLconf imports, template compilation) on an empty project, as a
        # server worker is after its first request: "cold" below means no report yet.
        project_create(name="Warm-up", slug="bench-warmup", lead=lead)
        client.get("/projects/bench-warmup/lead/dashboard/")
        page = f"/projects/{slug}/lead/dashboard/"
        print(f"GET {page} (server time in this process, PostgreSQL at {args.pg})")
        cache.clear()
        _time_page(client, page, "cold: no report yet (schedules it, 'computing')")
        report = AgreementReport.objects.get(project__slug=slug)
        t0, c0 = time.perf_counter(), time.process_time()
        agreement_report_refresh(report_id=report.pk)
        print(f"  (background) agreement report with 200 bootstrap resamples: "
              f"{time.perf_counter() - t0:.2f} s wall, {time.process_time() - c0:.2f} s CPU "
              f"- the Celery worker's job, not the request's")
        cache.clear()
        _time_page(client, page, "report ready, cold cache (label counts read)")
        for i in range(3):
            _time_page(client, page, f"warm report, warm cache (run {i + 1})")
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep_db:
            drop_database(admin_url, db_name)
