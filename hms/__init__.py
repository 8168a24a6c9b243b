__version__ = "0.1.0"

# The job engine's Celery app is loaded with Django, so that `shared_task` binds to it (Celery's
# documented layout for Django projects).
from hms.celery import app as celery_app  # noqa: E402

__all__ = ("__version__", "celery_app")
