from django.core.management.base import BaseCommand, CommandError

from hms import jobs as registry
from hms.jobs import engine


class Command(BaseCommand):
    help = (
        "Run one scheduled job now, as the worker would, and record the run (cron-friendly: exit status 1 "
        "when the job fails). --list shows the jobs."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", nargs="?", help="A job's name (see --list).")
        parser.add_argument("--list", action="store_true", help="List the registered jobs and their default intervals.")

    def handle(self, *args, name=None, list=False, **options):
        if list:
            for job in registry.jobs():
                self.stdout.write(f"{job.name}\tevery {job.every_seconds}s\t{job.description}")
            return
        if not name:
            raise CommandError("Name a job (see run_job --list).")
        try:
            run = engine.run(name, trigger="command")
        except engine.UnknownJob as exc:
            raise CommandError(f"{exc} See run_job --list.") from None
        if not run.ok:
            raise CommandError(f"{name} failed: {run.error}")
        self.stdout.write(f"{name}: {run.result}")
