"""docker-compose.yml and the Dockerfile, checked without a Docker engine (there is none on the build
machine): the services a team needs, health checks and start order, files that exist, and settings
overrides that name real settings."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

from revisit.core.config import load_settings

REPO = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES = COMPOSE["services"]
LONG_RUNNING = ("kafka", "postgres", "worker", "sender", "shipper", "web", "prometheus", "grafana", "mailpit")


def test_the_services_a_deployment_needs_are_there() -> None:
    assert set(LONG_RUNNING) | {"topic-init", "accounts-import"} <= set(SERVICES)
    assert SERVICES["kafka"]["image"].startswith("apache/kafka:4.")
    assert SERVICES["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft, no ZooKeeper
    assert SERVICES["worker"]["command"] == ["worker"] and SERVICES["sender"]["command"] == ["sender"]


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_long_running_services_have_health_checks(name: str) -> None:
    check = SERVICES[name]["healthcheck"]
    assert check["test"][0] in ("CMD", "CMD-SHELL") and len(check["test"]) > 1


def test_start_order_waits_for_what_each_service_needs() -> None:
    for name, service in SERVICES.items():
        for dependency, rule in (service.get("depends_on") or {}).items():
            assert dependency in SERVICES, f"{name} depends on unknown {dependency}"
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in SERVICES[dependency], f"{name} waits for {dependency}'s health"
            if rule["condition"] == "service_completed_successfully":
                assert SERVICES[dependency].get("restart") == "no", f"{dependency} must run once"
    assert SERVICES["worker"]["depends_on"]["topic-init"]["condition"] == "service_completed_successfully"


def test_the_worker_can_be_scaled() -> None:
    worker = SERVICES["worker"]
    assert "container_name" not in worker and "ports" not in worker  # fixed names or host ports block --scale
    scrape = yaml.safe_load((REPO / "deploy" / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
    assert scrape["scrape_configs"][0]["dns_sd_configs"][0]["names"] == ["worker"]  # every replica


def test_every_file_the_compose_file_names_exists() -> None:
    assert (REPO / "Dockerfile").is_file() and (REPO / ".env.example").is_file()
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./") and source != "./data":  # ./data holds the user's own files
                assert (REPO / source).exists(), f"{name}: {source}"


def test_settings_overrides_in_the_compose_file_are_real_settings() -> None:
    environments = [dict(service.get("environment") or {}) for service in SERVICES.values()]
    example = dict(
        line.split("=", 1)
        for line in (REPO / ".env.example").read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    )
    for environment in environments + [example]:
        overrides = {
            key: re.sub(r"\$\{\w+\}", "x", str(value))
            for key, value in environment.items()
            if key.startswith("REVISIT_")
        }
        if overrides:
            load_settings(None, overrides)  # raises on an unknown key or a wrong type
    worker = {key: str(value) for key, value in SERVICES["worker"]["environment"].items()}
    assert load_settings(None, worker).worker.web_host == "0.0.0.0"  # reachable by Prometheus


def test_the_image_is_multi_stage_and_runs_as_a_user() -> None:
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert len(re.findall(r"^FROM ", dockerfile, re.M)) >= 2
    users = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert users and users[-1] not in ("root", "0")
    packages = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"][
        "find"
    ]["include"]
    # every folder the wheel is built from is copied into the build stage: the packages and the
    # top-level folders their links (revisit/stream -> ../stream, ...) point at
    linked = [path.resolve().name for path in (REPO / "revisit").iterdir() if path.is_symlink()]
    assert sorted(linked) == ["alerts", "enrichment", "stream"]
    for folder in [package.rstrip("*") for package in packages] + linked:
        assert f"COPY {folder} ./{folder}" in dockerfile


def test_prometheus_scrapes_every_revisit_process_where_it_listens() -> None:
    scrape = yaml.safe_load((REPO / "deploy" / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
    targets = {}
    for job in scrape["scrape_configs"]:
        for static in job.get("static_configs", []):
            targets.update(dict(target.split(":") for target in static["targets"]))
        for dns in job.get("dns_sd_configs", []):
            targets.update({name: str(dns["port"]) for name in dns["names"]})
    for service, setting in (("worker", "worker"), ("sender", "delivery"), ("shipper", "ship"), ("web", "web")):
        assert service in targets, f"{service} is not scraped"
        environment = {key: str(value) for key, value in SERVICES[service]["environment"].items()}
        settings = getattr(load_settings(None, environment), setting)
        host, port = (settings.host, settings.port) if service == "web" else (settings.web_host, settings.web_port)
        assert host == "0.0.0.0" and str(port) == targets[service]
        assert any(targets[service] in str(p) for p in SERVICES[service].get("expose", SERVICES[service].get("ports")))
        assert f":{port}/readyz" in " ".join(SERVICES[service]["healthcheck"]["test"]) or service == "worker"
    mounted = " ".join(SERVICES["prometheus"]["volumes"])
    assert all(f"deploy/prometheus/{name}" in mounted for name in scrape["rule_files"])


def test_the_internal_web_ports_stay_on_the_compose_network() -> None:
    """The worker's, sender's and shipper's pages are for Prometheus and health checks only: no
    host port is published for them, and Prometheus reaches them by service name."""
    scrape = yaml.safe_load((REPO / "deploy" / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
    scraped = {
        target
        for job in scrape["scrape_configs"]
        for target in [f"{n}:{d['port']}" for d in job.get("dns_sd_configs", []) for n in d["names"]]
        + [t for s in job.get("static_configs", []) for t in s["targets"]]
    }
    for name, port in (("worker", 6066), ("sender", 6068), ("shipper", 6067)):
        service = SERVICES[name]
        assert "ports" not in service and "network_mode" not in service, f"{name} must not publish a host port"
        assert str(port) in [str(p) for p in service["expose"]] and f"{name}:{port}" in scraped
