"""The `make run` database (SQLite, a fresh file): a wrong password counts towards the login limit there
too (the failure counter lives on the database cache, written without row locks on SQLite)."""

import os
import subprocess
import sys

from django.conf import settings

SCRIPT = """
from django.test import Client
client = Client(HTTP_HOST="localhost")
statuses = [
    client.post("/auth/login", {"username": "ops", "password": "wrong"}, content_type="application/json").status_code
    for _ in range(3)
]
right = client.post("/auth/login", {"username": "ops", "password": "Ops-Pass-2026"}, content_type="application/json")
print(*statuses, right.status_code)
"""


def test_wrong_passwords_are_counted_and_throttled_on_sqlite(tmp_path):
    env = {
        **{key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_", "PG", "ADMIN_"))},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'run.sqlite3'}",
        "SECRET_KEY": "sqlite-login-test-" + "k" * 50,
        "DEBUG": "false",
        "SECURE_SSL_REDIRECT": "false",
        "ADMIN_EMAIL": "ops@hms.example",
        "ADMIN_PASSWORD": "Ops-Pass-2026",
        "ADMIN_USERNAME": "ops",
        "THROTTLE_LOGIN_USERNAME": "2/1m",
        "HMS_ENV_FILE": "/dev/null",
    }
    env.pop("HMS_TESTING", None)
    env.pop("REDIS_URL", None)

    def manage(*args):
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    manage("migrate", "--noinput", "-v", "0")
    manage("createcachetable")
    # Two failures allowed per minute: the third is refused, and so is the right password meanwhile.
    assert manage("shell", "-v", "0", "-c", SCRIPT).split() == ["401", "401", "429", "429"]
