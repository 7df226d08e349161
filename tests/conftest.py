"""Shared fixtures: users, projects, API clients, and a real Celery worker for `worker` tests."""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from annotator.celery import app as celery_app
from labeling.models import Membership
from labeling.services.projects import membership_set, project_create
from tests.labeling.factories import UserFactory

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(autouse=True)
def _celery_mode(request):
    """Run tasks eagerly, except in `worker` tests, which need a real worker and broker."""
    eager = request.node.get_closest_marker("worker") is None
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = eager
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _media_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EXPORT_ROOT = tmp_path / "media" / "exports"


@pytest.fixture
def empty_cache():
    """Start and end with an empty cache: ids repeat across tests on SQLite, and the adjudication
    ranking, agreement trends and reports are cached by ids."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def fast_password_hashing(settings):
    """For tests that create many users and never log in with a password."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def lead(db):
    return UserFactory(username="lead")


@pytest.fixture
def project(db, lead):
    return project_create(name="Demo math", slug="demo-math", lead=lead)


@pytest.fixture
def annotator(db, project):
    user = UserFactory(username="ann")
    membership_set(project=project, user=user, role=Membership.Role.ANNOTATOR)
    return user


@pytest.fixture
def researcher(db, project):
    user = UserFactory(username="res")
    membership_set(project=project, user=user, role=Membership.Role.RESEARCHER)
    return user


@pytest.fixture
def api_client():
    return APIClient()


def _client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def lead_client(lead):
    return _client_for(lead)


@pytest.fixture
def annotator_client(annotator):
    return _client_for(annotator)


@pytest.fixture
def researcher_client(researcher):
    return _client_for(researcher)


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker):
    """Start a real Celery worker on the configured broker, against the test database.

    Only meaningful with a real broker (CELERY_BROKER_URL=redis://...); tests that use it
    are marked `worker` and skipped on the embedded default, where no broker exists.
    """
    broker = settings.CELERY_BROKER_URL
    if broker.startswith("memory://"):
        if os.environ.get("REQUIRE_WORKER") == "1":
            pytest.fail("REQUIRE_WORKER=1 but CELERY_BROKER_URL is memory://")
        pytest.skip("needs a real broker: set CELERY_BROKER_URL (CI runs these on Redis)")
    from django.db import connection

    env = dict(os.environ)
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        env["DATABASE_URL"] = f"sqlite:///{db['NAME']}"
    else:
        env["DATABASE_URL"] = (
            f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}"
        )
    env["CELERY_TASK_ALWAYS_EAGER"] = "false"
    env["MEDIA_ROOT"] = str(settings.MEDIA_ROOT)
    queue = f"test-{os.getpid()}"
    env["CELERY_TASK_DEFAULT_QUEUE"] = queue
    celery_app.conf.task_default_queue = queue
    log = open(ROOT / "celery-test-worker.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "annotator", "worker", "--pool=solo",
         "--loglevel=INFO", "-Q", queue, "--without-heartbeat", "--without-gossip",
         "--without-mingle"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"Celery worker exited; see {log.name}")
            replies = celery_app.control.ping(timeout=1.0, destination=None)
            if replies:
                break
        else:
            raise RuntimeError("Celery worker did not answer a ping within 60 s")
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
