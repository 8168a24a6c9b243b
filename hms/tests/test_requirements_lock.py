"""requirements.lock (production installs, `pip install --require-hashes`) cannot drift from
requirements.txt: every requirement is pinned there at a version its specifier allows, with hashes.
After changing requirements.txt: `make venv && make lock`."""

import re
from pathlib import Path

from django.conf import settings
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(settings.BASE_DIR)
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def requirements() -> list[Requirement]:
    lines = (line.split("#", 1)[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines())
    return [Requirement(line) for line in lines if line]


def lock() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, its sha256 hashes)."""
    pinned: dict[str, tuple[str, list[str]]] = {}
    current = None
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        match = PIN.match(line)
        if match:
            current = canonicalize_name(match[1])
            pinned[current] = (match[2], [])
        elif current and line.strip().startswith("--hash=sha256:"):
            pinned[current][1].append(line.strip().removeprefix("--hash=sha256:").rstrip(" \\"))
    return pinned


def test_every_requirement_is_pinned_in_the_lock_at_a_version_it_allows():
    pinned = lock()
    drift = []
    for requirement in requirements():
        name = canonicalize_name(requirement.name)
        if name not in pinned:
            drift.append(f"{requirement}: not in requirements.lock")
        elif not requirement.specifier.contains(pinned[name][0], prereleases=True):
            drift.append(f"{requirement}: requirements.lock pins {pinned[name][0]}")
    assert not drift, "requirements.txt and requirements.lock disagree (make venv && make lock):\n" + "\n".join(drift)


def test_every_locked_package_has_sha256_hashes():
    unhashed = [name for name, (_, hashes) in lock().items() if not hashes]
    assert not unhashed
    assert all(re.fullmatch(r"[0-9a-f]{64}", digest) for _, hashes in lock().values() for digest in hashes)


def test_the_lock_pins_the_extras_dependencies():
    # --strip-extras: psycopg[binary] is psycopg plus psycopg-binary, uvicorn[standard] brings uvloop.
    assert {"psycopg-binary", "uvloop", "httptools", "hiredis"} <= set(lock())


def test_the_docker_image_installs_from_the_lock_with_hashes():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "--require-hashes -r requirements.lock" in dockerfile
