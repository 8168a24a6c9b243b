"""Shared fixtures: API clients signed in per role, clean cache between tests; the race harness."""

import contextlib
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence

import pytest
from django.core.cache import cache
from django.core.management.base import CommandError
from django.db import OperationalError, connection
from django.test import Client, testcases
from rest_framework.test import APIClient

from accounts.tests.factories import HospitalFactory, UserFactory

_flush = testcases.TransactionTestCase._fixture_teardown


def _is_deadlock(error: BaseException | None) -> bool:
    """`flush` wraps the database's error in a CommandError (raise ... from exc): look down the chain."""
    while error is not None:
        if isinstance(error, OperationalError) and "deadlock detected" in str(error):
            return True
        error = error.__cause__ or error.__context__
    return False


def _flush_again_after_a_deadlock(self):
    """A transactional test ends with a flush (one TRUNCATE of every table) while the feed tests' live
    uvicorn hosts may still read the feed's tables: PostgreSQL can pick the flush as the victim of that
    deadlock (a rolled-back TRUNCATE changes nothing), so it is run again, up to three times."""
    for attempt in range(3):
        try:
            return _flush(self)
        except (OperationalError, CommandError) as error:
            if attempt == 2 or not _is_deadlock(error):
                raise
            time.sleep(0.2)
    return None


testcases.TransactionTestCase._fixture_teardown = _flush_again_after_a_deadlock


def _clear_cache():
    # A test without database access has nothing in the database cache to clear.
    with contextlib.suppress(RuntimeError):
        cache.clear()


@pytest.fixture(autouse=True)
def _isolated(settings):
    settings.SECURE_SSL_REDIRECT = False
    _clear_cache()
    yield
    _clear_cache()


@pytest.fixture
def api():
    return APIClient()


def client_for(user) -> APIClient:
    from accounts.tokens import tokens_issue

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_issue(user=user)['access']}")
    return client


def run_together(calls: Sequence[Callable], timeout: float = 60) -> list:
    """Run the calls in threads started at the same instant (a barrier), each on its own database
    connection, closed afterwards; return their results in order. A call that raises, or a thread
    still running after `timeout` seconds, fails the test."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    errors: list = []

    def run(index: int, call: Callable) -> None:
        try:
            barrier.wait(timeout=timeout)
            results[index] = call()
        except BaseException as exc:  # noqa: BLE001 - raised again in the test's thread below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, call), daemon=True) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    if any(thread.is_alive() for thread in threads):
        pytest.fail(f"run_together: a call was still running after {timeout} s (a deadlock?)")
    if errors:
        raise errors[0]
    return results


@pytest.fixture
def hospital(db):
    return HospitalFactory()


@pytest.fixture
def other_hospital(db):
    return HospitalFactory()


@pytest.fixture
def admin_user(db):
    return UserFactory(role="admin", is_staff=True, is_superuser=True)


@pytest.fixture
def hospital_admin(hospital):
    return UserFactory(role="hospital_admin", hospital=hospital)


@pytest.fixture
def other_hospital_admin(other_hospital):
    return UserFactory(role="hospital_admin", hospital=other_hospital)


@pytest.fixture
def doctor_user(hospital):
    return UserFactory(role="doctor", hospital=hospital)


@pytest.fixture
def driver_user(hospital):
    return UserFactory(role="ambulance_driver", hospital=hospital)


@pytest.fixture
def patient(db):
    return UserFactory(role="user")


@pytest.fixture
def other_patient(db):
    return UserFactory(role="user")


@pytest.fixture
def donor(db):
    return UserFactory(role="donor", blood_group="O+")


@pytest.fixture
def admin_client(admin_user):
    return client_for(admin_user)


@pytest.fixture
def hospital_admin_client(hospital_admin):
    return client_for(hospital_admin)


@pytest.fixture
def other_hospital_admin_client(other_hospital_admin):
    return client_for(other_hospital_admin)


@pytest.fixture
def doctor_client(doctor_user):
    return client_for(doctor_user)


@pytest.fixture
def driver_client(driver_user):
    return client_for(driver_user)


@pytest.fixture
def patient_client(patient):
    return client_for(patient)


@pytest.fixture
def other_patient_client(other_patient):
    return client_for(other_patient)


@pytest.fixture
def donor_client(donor):
    return client_for(donor)


@pytest.fixture
def admin_site(admin_user) -> Client:
    """The Django admin, signed in as the administrator with a session (as a browser is)."""
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture(params=["one_statement", "locking"])
def booking_path(request, monkeypatch):
    """Run a booking test on both paths: the one-statement booking (PostgreSQL) and the locking one
    (other databases, and PostgreSQL's fallback when the slot changed under the statement)."""
    from appointments.services import bookings

    if request.param == "locking":
        monkeypatch.setattr(bookings, "ONE_STATEMENT_VENDORS", frozenset())
    return request.param


def _redis_binary() -> str | None:
    """Debian's redis-server (installed with apt when missing and we are root, as in a fresh CI box)."""
    found = shutil.which("redis-server")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(
            "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server",
            shell=True,
            check=False,
            capture_output=True,
            timeout=300,
        )
        found = shutil.which("redis-server")
    return found


@pytest.fixture(scope="module")
def redis_url():
    """A real Redis server on a free port for the tests of one module (a cache, or Celery's broker)."""
    binary = _redis_binary()
    if binary is None:
        pytest.skip("redis-server is not installed (and could not be installed)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    server.terminate()
    server.wait(timeout=10)
