"""Security checks kept in the suite: known vulnerabilities in the installed dependencies
(pip-audit), and SQL built only with bound parameters. The web UI's access checks live in
tests/test_web.py."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.conftest import REPO

PACKAGES = ("revisit", "stream", "enrichment", "alerts")


def test_no_installed_dependency_has_a_known_vulnerability() -> None:
    """pip-audit against PyPI's advisory data; skipped, saying why, when that cannot be reached."""
    pip_audit = Path(sys.executable).with_name("pip-audit")
    try:
        result = subprocess.run(
            [str(pip_audit), "--format", "json", "--progress-spinner", "off", "--timeout", "20"],
            capture_output=True,
            text=True,
            timeout=600,
        )
    except subprocess.TimeoutExpired:
        pytest.skip("pip-audit: the advisory database did not answer within 10 minutes")
    if not result.stdout.strip().startswith("{"):
        if result.returncode != 0 and re.search(r"connect|resolve|timed? ?out|network|HTTP", result.stderr, re.I):
            pytest.skip(f"pip-audit: advisory database unreachable ({result.stderr.strip().splitlines()[-1]})")
        pytest.fail(f"pip-audit failed: {result.stderr[-2000:]}")
    report = json.loads(result.stdout)
    dependencies = report["dependencies"]
    vulnerable = [
        f"{d['name']} {d['version']}: {', '.join(v['id'] for v in d['vulns'])}" for d in dependencies if d.get("vulns")
    ]
    assert not vulnerable, vulnerable
    audited = [d for d in dependencies if "skip_reason" not in d]
    if not audited:
        pytest.skip(
            f"pip-audit: none of the {len(dependencies)} dependencies could be looked up (the package "
            "index reachable from here serves no advisory data); nothing known to be vulnerable"
        )


# The last release of each dependency with a published advisory (see the comments in pyproject.toml):
# a floor must exclude it, so no install that pip may choose is one pip-audit would flag.
LAST_VULNERABLE = {
    "starlette": "1.3.0",
    "fastapi": "0.132.1",  # its starlette range holds only vulnerable releases
    "python-multipart": "0.0.31",
    "jinja2": "3.1.5",
    "aiosmtpd": "1.4.5",
    "setuptools": "78.1.0",
}


def test_dependency_floors_exclude_releases_with_known_advisories() -> None:
    """Works offline, unlike pip-audit, which only sees what is installed here."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = [Requirement(text) for text in project["dependencies"] + project["optional-dependencies"]["test"]]
    floors = {requirement.name.lower(): requirement.specifier for requirement in declared}
    admitted = {
        name: version for name, version in LAST_VULNERABLE.items() if name not in floors or version in floors[name]
    }
    assert admitted == {}


def test_sql_is_built_with_bound_parameters_only() -> None:
    """No SQL text assembled from values: every query is SQLAlchemy expressions or a constant."""
    offenders = []
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            source = path.read_text(encoding="utf-8")
            for number, line in enumerate(source.splitlines(), 1):
                if re.search(
                    r"""\btext\(\s*f["']|\.execute\(\s*f["']|\.execute\(\s*["'][^"']*["']\s*%|"""
                    r"""\btext\([^)]*\.format\(|\btext\([^)]*\+""",
                    line,
                ):
                    offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not offenders, offenders
