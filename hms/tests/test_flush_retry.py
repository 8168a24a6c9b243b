"""The test harness's closing flush is retried when PostgreSQL picks it as a deadlock victim (the feed
tests' live hosts keep reading while it truncates); `flush` reports that as a CommandError chained from
the database's OperationalError, so the retry must look down the chain."""

import pytest
from django.core.management.base import CommandError
from django.db import OperationalError

import conftest


def _raising(errors):
    calls = []

    def flush(self):
        calls.append(self)
        if errors:
            raise errors.pop(0)

    return flush, calls


def _wrapped_deadlock():
    try:
        try:
            raise OperationalError("deadlock detected\nDETAIL: Process 1 waits for AccessExclusiveLock")
        except OperationalError as exc:
            raise CommandError("Database test_hms couldn't be flushed.") from exc
    except CommandError as error:
        return error


def test_a_flush_refused_by_a_deadlock_is_run_again(monkeypatch):
    flush, calls = _raising([_wrapped_deadlock(), _wrapped_deadlock()])
    monkeypatch.setattr(conftest, "_flush", flush)
    conftest._flush_again_after_a_deadlock(object())
    assert len(calls) == 3


def test_a_flush_that_fails_for_another_reason_is_not_retried(monkeypatch):
    flush, calls = _raising([CommandError("Database test_hms couldn't be flushed.")])
    monkeypatch.setattr(conftest, "_flush", flush)
    with pytest.raises(CommandError):
        conftest._flush_again_after_a_deadlock(object())
    assert len(calls) == 1


def test_three_deadlocks_in_a_row_are_reported(monkeypatch):
    flush, calls = _raising([_wrapped_deadlock() for _ in range(3)])
    monkeypatch.setattr(conftest, "_flush", flush)
    with pytest.raises(CommandError):
        conftest._flush_again_after_a_deadlock(object())
    assert len(calls) == 3
