"""Agreement speed: pure alpha + Fleiss on 300k and 1M labels, the whole `agreement --json`
command from PostgreSQL, and 1,000 bootstrap resamples over 10,000 traces.

    python -m benchmarks agreement [--skip-db] [--keep-db] [--pg postgres://postgres@127.0.0.1:5432]

Creates (and drops) its own PostgreSQL database `bench_agreement`. Prints figures next to
their targets; never asserts.
"""
from __future__ import annotations

import argparse
import io
import os
import resource
import subprocess
import sys
import time
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
DB_NAME = "bench_agreement"
SIZES = (300_000, 1_000_002)  # 100,000 and 333,334 steps, 3 annotators each
STEPS_PER_TRACE = 10
N_CODERS = 3


def synthetic(n_labels: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Return label arrays: steps labeled by 3 annotators, who copy a truth 70 % of the time."""
    rng = np.random.default_rng(seed)
    n_items = n_labels // N_CODERS
    item = np.repeat(np.arange(n_items, dtype=np.int64), N_CODERS)
    coder = np.tile(np.arange(N_CODERS, dtype=np.int64), n_items)
    truth = rng.choice(3, n_items, p=[0.2, 0.2, 0.6])
    value = np.where(rng.random(item.size) < 0.7, truth[item], rng.integers(0, 3, item.size))
    return {
        "item": item,
        "coder": coder,
        "value": value.astype(np.int64),
        "trace": item // STEPS_PER_TRACE,
        "step_index": item % STEPS_PER_TRACE,
        "polarity": value.astype(np.int64) - 1,
    }


def _best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def _line(label: str, seconds: float, target: float | None = None) -> None:
    verdict = ""
    if target is not None:
        verdict = f"  target <= {target:.1f} s  {'OK' if seconds <= target else 'OVER'}"
    print(f"  {label:<58}{seconds:8.3f} s{verdict}", flush=True)


def bench_pure() -> None:
    from labeling.agreement.data import LabelTable
    from labeling.agreement.metrics import (
        fleiss_kappa_from_stats,
        fleiss_stats,
        krippendorff_alpha,
    )
    from labeling.agreement.report import agreement_report

    print("Pure computation (numpy, no database)")
    for n in SIZES:
        arrays = synthetic(n)

        def build(arrays: dict[str, np.ndarray] = arrays) -> LabelTable:
            return LabelTable.from_arrays(categories=("negative", "neutral", "positive"), **arrays)

        def metrics() -> tuple[float, float, float]:
            table = build()
            return (
                krippendorff_alpha(table, "nominal"),
                krippendorff_alpha(table, "ordinal", "polarity"),
                fleiss_kappa_from_stats(fleiss_stats(table.item_counts)),
            )

        values = metrics()
        _line(
            f"{n:>9,} labels: table + alpha nominal + alpha ordinal + Fleiss",
            _best(metrics),
            0.5 if n >= 1_000_000 else None,
        )
        print(f"      alpha nominal {values[0]:.4f}  ordinal {values[1]:.4f}  "
              f"Fleiss {values[2]:.4f}")
        table = build()
        _line(f"{n:>9,} labels: full report (every figure, no bootstrap)",
              _best(lambda t=table: agreement_report(t), 1))
        if n <= 300_000:
            import krippendorff

            reliability = np.full((N_CODERS, table.n_items), np.nan)
            reliability[table.coder, table.item] = table.value
            t0 = time.perf_counter()
            ref = krippendorff.alpha(reliability_data=reliability, level_of_measurement="nominal")
            _line(f"{n:>9,} labels: krippendorff.alpha (package, reference)",
                  time.perf_counter() - t0)
            print(f"      package alpha {ref:.12f}, ours {values[0]:.12f}")


def bench_bootstrap() -> None:
    from labeling.agreement.data import LabelTable
    from labeling.agreement.report import agreement_report

    print("Bootstrap")
    arrays = synthetic(300_000)  # 100,000 steps in 10,000 traces
    table = LabelTable.from_arrays(categories=("negative", "neutral", "positive"), **arrays)
    t0 = time.perf_counter()
    report = agreement_report(table, n_resamples=1000, seed=0)
    _line(f"1,000 resamples over {table.n_traces:,} traces (every figure)",
          time.perf_counter() - t0, 10.0)
    alpha = report["krippendorff_alpha_nominal"]
    print(f"      alpha nominal {alpha['value']:.4f} "
          f"[{alpha['ci_low']:.4f}, {alpha['ci_high']:.4f}]")


def _admin_url(base: str) -> str:
    return f"{base.rstrip('/')}/postgres"


def _load_project(slug: str, n_labels: int, id_offset: int) -> None:
    """Create a project with the default taxonomy and COPY traces, steps and labels into it."""
    from django.db import connection

    from labeling.models import Category, Membership, User
    from labeling.services.projects import membership_set, project_create

    lead = User.objects.create(username=f"{slug}-lead")
    project = project_create(name=slug, slug=slug, lead=lead)
    annotators = [User.objects.create(username=f"{slug}-ann{i}") for i in range(N_CODERS)]
    for user in annotators:
        membership_set(project=project, user=user, role=Membership.Role.ANNOTATOR)
    cats = {c.polarity: c.pk for c in Category.objects.filter(version=project.taxonomy_version)}
    a = synthetic(n_labels, seed=id_offset)
    n_items = a["item"].size // N_CODERS
    n_traces = int(a["trace"].max()) + 1
    trace_ids = np.arange(n_traces) + id_offset
    step_ids = np.arange(n_items) + id_offset
    now = "2026-01-01 00:00:00+00"
    traces = io.StringIO()
    for t in trace_ids.tolist():
        split = "test" if t % 5 == 0 else "train"
        traces.write(
            f"{t}\t{project.pk}\tb{t}\tProblem {t}\t\t\t\\N\tbench\t{{\"split\": \"{split}\"}}\t"
            f"native\th{t}\t{STEPS_PER_TRACE}\tf\t\\N\t{now}\n"
        )
    steps = io.StringIO()
    trace_of_step = (np.arange(n_items) // STEPS_PER_TRACE + id_offset).tolist()
    index_of_step = (np.arange(n_items) % STEPS_PER_TRACE).tolist()
    for s, t, i in zip(step_ids.tolist(), trace_of_step, index_of_step, strict=True):
        steps.write(f"{s}\t{t}\t{i}\tStep {i}\n")
    labels = io.StringIO()
    coder_ids = np.array([u.pk for u in annotators])[a["coder"]].tolist()
    cat_ids = np.array([cats[-1], cats[0], cats[1]])[a["value"]].tolist()
    label_steps = (a["item"] + id_offset).tolist()
    label_traces = (a["trace"] + id_offset).tolist()
    pol = a["polarity"].tolist()
    for s, t, u, c, p in zip(label_steps, label_traces, coder_ids, cat_ids, pol, strict=True):
        labels.write(f"{s}\t{t}\t{u}\t{c}\t{p}\t\tf\t{now}\t{now}\n")
    with connection.cursor() as cursor:
        raw = cursor.cursor
        # Generated rows are consistent by construction: skip the per-row foreign-key
        # triggers during the load (needs a superuser, as the local postgres role is).
        cursor.execute("SET session_replication_role = replica")
        copy_tsv(raw, "labeling_trace", TRACE_COLUMNS, traces)
        copy_tsv(raw, "labeling_step", STEP_COLUMNS, steps)
        copy_tsv(raw, "labeling_steplabel", STEPLABEL_COLUMNS, labels)
        cursor.execute("SET session_replication_role = DEFAULT")
    # As autovacuum would on a live server: set hint bits and the visibility map, so the
    # timed runs do not pay for the bulk load's first read.
    with connection.cursor() as cursor:
        for table in ("labeling_trace", "labeling_step", "labeling_steplabel"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def _breakdown(slug: str) -> float:
    """Print where the command's time goes, measured in this process; return server CPU s.

    Wall times here depend on the machine's load; CPU seconds of this process and of its
    PostgreSQL backend do not, and their sum is the wall time on an idle machine.
    """
    from django.db import connection

    from labeling.agreement.report import agreement_report
    from labeling.models import Project
    from labeling.selectors.agreement import (
        AgreementFilters,
        label_arrays_for_project,
        labels_fingerprint,
    )

    project = Project.objects.get(slug=slug)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    try:
        server0 = process_cpu_seconds(backend)
    except OSError:  # PostgreSQL on another machine
        server0 = None
    c0, t0 = time.process_time(), time.perf_counter()
    labels_fingerprint(project_id=project.pk)
    t1 = time.perf_counter()
    table = label_arrays_for_project(project_id=project.pk, filters=AgreementFilters())
    c2, t2 = time.process_time(), time.perf_counter()
    server = process_cpu_seconds(backend) - server0 if server0 is not None else float("nan")
    agreement_report(table)
    c3, t3 = time.process_time(), time.perf_counter()
    print(f"      breakdown (wall): fingerprint {t1 - t0:.3f} s, labels from PostgreSQL to "
          f"arrays {t2 - t1:.3f} s, every figure {t3 - t2:.3f} s")
    print(f"      breakdown (CPU): PostgreSQL backend {server:.3f} s, Python reading "
          f"{c2 - c0:.3f} s, every figure {c3 - c2:.3f} s")
    return server


def bench_database(pg: str, keep: bool) -> None:

    url = f"{pg.rstrip('/')}/{DB_NAME}"
    print(f"Whole command from PostgreSQL ({url})")
    recreate_database(_admin_url(pg), DB_NAME)
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "annotator.settings"}
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env,
                       check=True)
        os.environ.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="annotator.settings")
        import django

        django.setup()
        for i, n in enumerate(SIZES):
            slug = f"bench-{n}"
            t0 = time.perf_counter()
            _load_project(slug, n, id_offset=(i + 1) * 10_000_000)
            _line(f"load {n:,} labels with COPY (setup, not a target)", time.perf_counter() - t0)
            server_cpu = _breakdown(slug)
            for extra in ([], ["--bootstrap", "1000"]):
                times, cpu = [], []
                for _ in range(3):
                    before = resource.getrusage(resource.RUSAGE_CHILDREN)
                    t0 = time.perf_counter()
                    done = subprocess.run(
                        [sys.executable, "manage.py", "agreement", slug, "--json", *extra],
                        cwd=ROOT, env=env, check=True, capture_output=True,
                    )
                    times.append(time.perf_counter() - t0)
                    after = resource.getrusage(resource.RUSAGE_CHILDREN)
                    cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
                size = len(done.stdout)
                _line(f"{n:>9,} labels: manage.py agreement --json {' '.join(extra)}".rstrip(),
                      min(times), 3.0 if not extra else None)
                print(f"      ({size:,} bytes of JSON; best of 3 wall, incl. Python and Django "
                      f"start; load average {os.getloadavg()[0]:.1f})")
                _line("    CPU work: command process + PostgreSQL (= wall when idle)",
                      min(cpu) + server_cpu, 3.0 if not extra else None)
    finally:
        from django.db import connections

        connections.close_all()
        if not keep:
            drop_database(_admin_url(pg), DB_NAME)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks agreement")
    parser.add_argument("--skip-db", action="store_true", help="Only the pure timings.")
    parser.add_argument("--keep-db", action="store_true", help=f"Keep {DB_NAME} afterwards.")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432",
                        help="PostgreSQL server URL without a database name.")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    bench_pure()
    bench_bootstrap()
    if not args.skip_db:
        bench_database(args.pg, args.keep_db)
