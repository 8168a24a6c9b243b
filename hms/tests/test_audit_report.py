"""The dependency audit's verdict on pip-audit's report (bin/audit_report.py, run by `make test`)."""

import importlib.util
from pathlib import Path

import pytest

SPEC = importlib.util.spec_from_file_location(
    "audit_report", Path(__file__).resolve().parents[2] / "bin" / "audit_report.py"
)
audit_report = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(audit_report)


def clean(name, version="1.0"):
    return {"name": name, "version": version, "vulns": []}


def skipped(name):
    return {"name": name, "skip_reason": f"Dependency not found on PyPI and could not be audited: {name} (1.0)"}


def test_a_known_vulnerability_fails_and_names_the_advisory_and_fix():
    report = {
        "dependencies": [
            clean("asgiref"),
            {"name": "django", "version": "5.2", "vulns": [{"id": "PYSEC-2099-1", "fix_versions": ["5.2.9"]}]},
        ]
    }
    status, lines = audit_report.verdict(report, strict=False)
    assert status == 1
    assert "audit-deps: django 5.2: PYSEC-2099-1 (fixed in 5.2.9)" in lines
    assert lines[-1].startswith("audit-deps: FAILED: 1 of 2")


def test_a_partial_audit_is_not_a_pass():
    status, lines = audit_report.verdict({"dependencies": [clean("asgiref"), skipped("django")]}, strict=False)
    assert status == 1
    assert lines[-1] == "audit-deps: FAILED: only 1 of 2 pinned packages could be audited"


@pytest.mark.parametrize("strict, expected", [(False, 0), (True, 1)])
def test_no_answer_at_all_is_said_loudly_and_fails_only_when_strict(strict, expected):
    status, lines = audit_report.verdict({"dependencies": [skipped("asgiref"), skipped("django")]}, strict=strict)
    assert status == expected
    assert lines[-1].startswith("audit-deps: NOT AUDITED: the vulnerability service answered for none of the 2")


def test_every_package_audited_and_clean_passes():
    status, lines = audit_report.verdict({"dependencies": [clean("asgiref"), clean("django")]}, strict=True)
    assert (status, lines) == (0, ["audit-deps: ok: 2 pinned packages, no known vulnerabilities"])
