"""django-prometheus' PostgreSQL backend with hms.pg's socket health check and C timestamp loader."""

from django_prometheus.db.backends.postgresql import base

from hms.pg.base import CTimestamps, SocketHealthCheck


class DatabaseWrapper(CTimestamps, SocketHealthCheck, base.DatabaseWrapper):
    pass
