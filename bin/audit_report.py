"""Reads pip-audit's JSON report of requirements.lock and decides (bin/audit-deps).

Exit 1 when a pinned package has a known vulnerability, or when only some packages could be audited;
exit 0 when none has one; when the service answered for no package at all, exit 0 with a NOT AUDITED
line (1 with AUDIT_STRICT=1).
"""

import json
import os
import sys


def verdict(report: dict, strict: bool) -> tuple[int, list[str]]:
    packages = report["dependencies"]
    vulnerable = [package for package in packages if package.get("vulns")]
    skipped = [package for package in packages if "skip_reason" in package]
    audited = len(packages) - len(skipped)
    lines = []
    for package in vulnerable:
        for vuln in package["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed release"
            lines.append(f"audit-deps: {package['name']} {package['version']}: {vuln['id']} (fixed in {fixed})")
    if vulnerable:
        lines.append(
            f"audit-deps: FAILED: {len(vulnerable)} of {len(packages)} pinned packages have known vulnerabilities"
        )
        return 1, lines
    if skipped and audited:
        lines += [f"audit-deps: not audited: {package['skip_reason']}" for package in skipped]
        lines.append(f"audit-deps: FAILED: only {audited} of {len(packages)} pinned packages could be audited")
        return 1, lines
    if skipped:
        lines.append(
            f"audit-deps: NOT AUDITED: the vulnerability service answered for none of the {len(packages)} "
            f"pinned packages (first: {skipped[0]['skip_reason']})"
        )
        return (1 if strict else 0), lines
    lines.append(f"audit-deps: ok: {len(packages)} pinned packages, no known vulnerabilities")
    return 0, lines


def main(path: str) -> int:
    with open(path) as report:
        status, lines = verdict(json.load(report), strict=os.environ.get("AUDIT_STRICT") == "1")
    print("\n".join(lines))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
