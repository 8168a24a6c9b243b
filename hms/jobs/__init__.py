"""The scheduled jobs' registry: what runs without a request (API.md section 16).

Each app declares its own jobs with `@job(...)` on the function in its `jobs` module (which its
AppConfig.ready() imports), or with `register()` in its AppConfig.ready(): a name, the plain function
that does the work (idempotent: running it twice, or in two workers at once, changes nothing visible
the second time), how often it runs, and a one-line description. The job engine
(Celery beat + worker), the `run_job` management command (cron-friendly, used by tests) and
`GET /api/v1/system/status` read this registry only; the plumbing knows no app.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

JobFunc = TypeVar("JobFunc", bound=Callable[[], object])


@dataclass(frozen=True)
class Job:
    name: str  # e.g. "appointments.no_show"
    func: Callable[[], object]  # returns a small JSON-able summary, e.g. {"marked": 3}
    every_seconds: int  # how often beat runs it by default (an admin may change it in the Django admin)
    description: str


_JOBS: dict[str, Job] = {}


def register(name: str, func: Callable[[], object], *, every_seconds: int, description: str) -> None:
    """Declare a job; the same name registered twice keeps the last declaration."""
    _JOBS[name] = Job(name, func, every_seconds, description)


def job(name: str, *, every_seconds: int, description: str) -> Callable[[JobFunc], JobFunc]:
    """`register()` as a decorator, so that a job's schedule stands on the function that does the work."""

    def declare(func: JobFunc) -> JobFunc:
        register(name, func, every_seconds=every_seconds, description=description)
        return func

    return declare


def jobs() -> list[Job]:
    return sorted(_JOBS.values(), key=lambda job: job.name)


def get(name: str) -> Job | None:
    return _JOBS.get(name)
