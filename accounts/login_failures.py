"""Where login failures are counted when the shared cache is the database (the default without
REDIS_URL): a small table of its own, one row per username or client address, changed with one
atomic statement (accounts/throttling.py says what is counted; Redis and local memory use cache.incr).
"""

from django.db import connections, models, router


class LoginFailureWindow(models.Model):
    """The failures of one throttle key (`loginfail:user:<digest>` or `loginfail:ip:<digest>`) in its
    current window, which the first failure opened and which ends at `ends_at` (epoch seconds)."""

    key = models.CharField(max_length=80, primary_key=True)
    ends_at = models.FloatField()
    failures = models.IntegerField()

    class Meta:
        app_label = "accounts"

    def __str__(self):
        return f"{self.key}: {self.failures} until {self.ends_at}"


def _execute(sql: str, params: list):
    alias = router.db_for_write(LoginFailureWindow)
    table = connections[alias].ops.quote_name(LoginFailureWindow._meta.db_table)
    with connections[alias].cursor() as cursor:
        cursor.execute(sql.format(table=table), params)
        return cursor.fetchone()


def count(key: str, delta: int, window: int, now: float) -> tuple[int, float]:
    """Add `delta` failures in the window open at `now`, opening one (for `window` seconds) when none
    is: one statement (INSERT ... ON CONFLICT DO UPDATE locks the row on PostgreSQL and SQLite holds
    the database), so concurrent failures are all counted. Returns the window's failures and its end."""
    failures, ends_at = _execute(
        "INSERT INTO {table} (key, ends_at, failures) VALUES (%s, %s, %s) "
        "ON CONFLICT (key) DO UPDATE SET "
        "failures = CASE WHEN {table}.ends_at <= %s THEN excluded.failures "
        "ELSE {table}.failures + excluded.failures END, "
        "ends_at = CASE WHEN {table}.ends_at <= %s THEN excluded.ends_at ELSE {table}.ends_at END "
        "RETURNING failures, ends_at",
        [key, now + window, delta, now, now],
    )
    return failures, ends_at


def give_back(key: str, delta: int, ends_at: float) -> int:
    """Change the count of the window that ends at `ends_at` only (nothing when it has ended since)."""
    row = _execute(
        "UPDATE {table} SET failures = failures + %s WHERE key = %s AND ends_at = %s RETURNING failures",
        [delta, key, ends_at],
    )
    return row[0] if row else 0


def delete_ended(now: float, margin: float) -> int:
    """Forget the windows that ended more than `margin` seconds before `now` (housekeeping)."""
    deleted, _ = LoginFailureWindow.objects.filter(ends_at__lt=now - margin).delete()
    return deleted
