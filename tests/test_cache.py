"""annotator.cache.RedisCache: Django's Redis cache, reusing one client per connection pool."""
import os

import pytest
import redis

from annotator.cache import RedisCache

REDIS_URL = os.environ.get("TEST_REDIS_CACHE_URL", "redis://127.0.0.1:6379/7")


@pytest.fixture
def redis_cache():
    # Probe with the plain client, so a bug in the class under test fails instead of skipping.
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.exceptions.ConnectionError as exc:
        if os.environ.get("REQUIRE_WORKER") == "1":
            pytest.fail(f"REQUIRE_WORKER=1 but no Redis at {REDIS_URL}: {exc}")
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
    cache = RedisCache(REDIS_URL, {"KEY_PREFIX": "test-cache"})
    yield cache
    cache.delete_many(["session", "counter"])


def test_it_stores_reads_and_deletes_like_djangos_backend(redis_cache):
    redis_cache.set("session", {"_auth_user_id": "7"}, 30)
    assert redis_cache.get("session") == {"_auth_user_id": "7"}
    assert redis_cache.add("counter", 1) and not redis_cache.add("counter", 5)
    assert redis_cache.incr("counter") == 2
    redis_cache.delete("session")
    assert redis_cache.get("session") is None


def test_it_reuses_one_client_per_pool(redis_cache):
    client = redis_cache._cache.get_client("a")
    assert redis_cache._cache.get_client("b") is client
    assert redis_cache._cache.get_client("c", write=True) is client  # one server: one pool
