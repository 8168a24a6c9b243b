import pytest

from feed.tests.live import Host


@pytest.fixture(scope="module")
def hosts(django_db_setup, django_db_blocker):
    """Two uvicorn hosts on the test database, for the tests of one module."""
    with django_db_blocker.unblock():
        first, second = Host(), Host()
    yield first, second
    first.stop()
    second.stop()
