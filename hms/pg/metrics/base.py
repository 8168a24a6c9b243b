"""django-prometheus' PostgreSQL backend with hms.pg's socket health check."""

from django_prometheus.db.backends.postgresql import base

from hms.pg.base import SocketHealthCheck


class DatabaseWrapper(SocketHealthCheck, base.DatabaseWrapper):
    pass
