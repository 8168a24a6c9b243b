"""The engine's one Celery task: run a registered job by name and record the run (hms/jobs/engine.py).

Delivered at least once: `task_acks_late` and `task_reject_on_worker_lost` (settings) put a message
back when its worker dies mid-run, so every job is written to be idempotent and safe in two workers
at once."""

from celery import shared_task

from hms.jobs import engine


@shared_task(name="hms.run_job", ignore_result=True)
def run_job(name: str) -> None:
    engine.run(name, trigger="worker")
