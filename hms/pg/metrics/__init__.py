"""hms.pg with django-prometheus' query metrics (METRICS_ENABLED)."""
