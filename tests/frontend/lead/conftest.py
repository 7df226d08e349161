"""Lead page tests hash passwords fast and start with an empty cache (ids repeat across
tests on SQLite, and the adjudication ranking is cached by ids)."""
import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()
