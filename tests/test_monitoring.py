"""deploy/prometheus and deploy/grafana: Prometheus' own checker accepts the scrape config and the
rules, the rules' unit tests pass, and every metric the dashboard, the rules and the README name is
one revisit really defines (tests/test_worker.py checks the same against a live worker)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest
import yaml
from prometheus_client import generate_latest

from revisit.core.metrics import RevisitMetrics
from tests.conftest import REPO

PROMETHEUS = REPO / "deploy" / "prometheus"
DASHBOARD = REPO / "deploy" / "grafana" / "dashboards" / "revisit.json"
METRIC_NAME = re.compile(r"\brevisit_[a-z0-9_]+")


@pytest.fixture(scope="module")
def promtool() -> str:
    """The promtool tests/run.sh found or unpacked (deploy/promtool.sh), or one on PATH."""
    found = os.environ.get("REVISIT_PROMTOOL") or shutil.which("promtool")
    if not found:
        if os.environ.get("CI"):
            pytest.fail("no promtool: run the suite with `make test` (deploy/promtool.sh provides it)")
        pytest.skip("no promtool: run `bash deploy/promtool.sh` or the suite with `make test`")
    return found


def run(promtool: str, *args: str) -> str:
    result = subprocess.run([promtool, *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_promtool_accepts_the_scrape_config(promtool) -> None:
    assert "SUCCESS" in run(promtool, "check", "config", "prometheus.yml")


def test_promtool_accepts_the_alerting_rules(promtool) -> None:
    output = run(promtool, "check", "rules", "rules.yml")
    rules = yaml.safe_load((PROMETHEUS / "rules.yml").read_text(encoding="utf-8"))["groups"][0]["rules"]
    assert f"SUCCESS: {len(rules)} rules found" in output


def test_the_alerting_rules_unit_tests_pass(promtool) -> None:
    assert "SUCCESS" in run(promtool, "test", "rules", "rules_test.yml")


def test_every_alert_has_a_unit_test_and_a_runbook() -> None:
    rules = yaml.safe_load((PROMETHEUS / "rules.yml").read_text(encoding="utf-8"))["groups"][0]["rules"]
    tests = yaml.safe_load((PROMETHEUS / "rules_test.yml").read_text(encoding="utf-8"))["tests"]
    tested = {case["alertname"] for test in tests for case in test["alert_rule_test"] if case["exp_alerts"]}
    for rule in rules:
        assert rule["alert"] in tested, f"{rule['alert']} is never shown to fire"
        assert rule["annotations"]["runbook"], rule["alert"]


def exported_sample_names(exposition: str | None = None) -> set[str]:
    """Every sample name in a ``/metrics`` text (by default, what a fresh ``RevisitMetrics`` exports),
    from its TYPE lines, so families without samples yet count too (histograms as _bucket/_sum/_count)."""
    if exposition is None:
        exposition = generate_latest(RevisitMetrics.create().registry).decode()
    names = set()
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            suffixes = {"histogram": ("_bucket", "_sum", "_count"), "counter": ("_total",)}.get(kind, ("",))
            names |= {name + suffix if not name.endswith(suffix) else name for suffix in suffixes}
    return names


def dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def rule_queries() -> list[str]:
    rules = yaml.safe_load((PROMETHEUS / "rules.yml").read_text(encoding="utf-8"))["groups"][0]["rules"]
    return [rule["expr"] for rule in rules]


def names_in_queries() -> set[str]:
    return {name for query in dashboard_queries() + rule_queries() for name in METRIC_NAME.findall(query)}


def test_the_dashboard_and_the_rules_name_only_metrics_revisit_defines() -> None:
    exported, named = exported_sample_names(), names_in_queries()
    assert named and named <= exported, sorted(named - exported)


def test_the_readme_documents_every_metric() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    families = {
        line.split()[2]
        for line in generate_latest(RevisitMetrics.create().registry).decode().splitlines()
        if line.startswith("# TYPE ") and not line.endswith("_created gauge")
    }
    undocumented = {name for name in families if f"`{name}" not in readme}
    assert not undocumented, sorted(undocumented)


def test_the_dashboard_uses_the_provisioned_data_source() -> None:
    source = yaml.safe_load(
        (REPO / "deploy" / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text(encoding="utf-8")
    )["datasources"][0]
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    panels = [panel for panel in dashboard["panels"] if panel["type"] != "row"]
    assert panels and all(panel["datasource"]["uid"] == source["uid"] for panel in panels)
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
