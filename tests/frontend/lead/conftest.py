"""Lead page tests hash passwords fast and start with an empty cache (ids repeat across
tests on SQLite, and the adjudication ranking is cached by ids)."""
import pytest


@pytest.fixture(autouse=True)
def _lead_page_defaults(fast_password_hashing, empty_cache):
    """Both fixtures live in tests/conftest.py."""
