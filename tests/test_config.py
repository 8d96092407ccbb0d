"""Configuration: defaults that work, TOML overrides, strict errors naming the key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from revisit.core.config import PageRule, Settings, load_settings
from revisit.core.errors import BadInput


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "revisit.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file(monkeypatch) -> None:
    # conftest points [matching] prepared_dir at the run's own folder through the environment
    monkeypatch.delenv("REVISIT_MATCHING__PREPARED_DIR")
    settings = load_settings(None)
    assert settings == Settings()
    assert settings.alerts.cooldown_hours == 24 and settings.intent.session_gap_minutes == 30
    assert settings.database_url.startswith("sqlite:///")


def test_overrides_are_typed(tmp_path: Path) -> None:
    settings = load_settings(
        write(
            tmp_path,
            """
database_url = "postgresql+psycopg://u@db/revisit"
[log]
format = "nginx_main"
trusted_proxies = ["10.0.0.0/8"]
[filters]
own_networks = ["133.18.40.0/24"]
[dormancy.default]
tier_a_months = 3
[dormancy.by_industry.plant]
tier_a_months = 24
tier_b_months = 36
tier_c_months = 60
[intent]
threshold = 25
[[intent.rules]]
pattern = "/projects/*"
weight = 20
label = "project"
[alerts]
locale = "en"
""",
        )
    )
    assert settings.log.format == "nginx_main" and settings.log.trusted_proxies == ("10.0.0.0/8",)
    assert settings.filters.own_networks == ("133.18.40.0/24",)
    assert settings.dormancy.default.tier_a_months == 3 and settings.dormancy.default.tier_b_months == 12
    assert settings.dormancy.thresholds_for("plant").tier_c_months == 60
    assert settings.intent.rules == (PageRule("/projects/*", 20, "project"),)
    assert settings.alerts.locale == "en" and settings.alerts.cooldown_hours == 24


@pytest.mark.parametrize(
    "text, message",
    [
        ("[alerts]\ncooldwon_hours = 3\n", "alerts.cooldwon_hours: unknown key"),
        ('[alerts]\ncooldown_hours = "3"\n', "alerts.cooldown_hours: expected an integer"),
        ("[filters]\ndrop_bots = 1\n", "filters.drop_bots: expected true or false"),
        (
            '[[intent.rules]]\npattern = "/a"\nweight = 1\nlabel = "a"\n[[intent.rules]]\npattern = "/b"\nwieght = 2\n',
            r"intent.rules\[1\].wieght: unknown key",
        ),
        ("[dormancy.by_industry.plant]\ntier_a = 1\n", "dormancy.by_industry.plant.tier_a: unknown key"),
        ("log = 3\n", "log: expected a table"),
        ('[intent]\nrules = "x"\n', "intent.rules: expected a list"),
        ("not toml ===\n", "not valid TOML"),
    ],
)
def test_bad_config_names_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        load_settings(write(tmp_path, text))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="config file not found"):
        load_settings(tmp_path / "nope.toml")


def test_environment_overrides_are_typed_and_checked(tmp_path) -> None:
    config = tmp_path / "revisit.toml"
    config.write_text('[kafka]\npartitions = 4\n[alerts]\nlocale = "en"\n', encoding="utf-8")
    environ = {
        "REVISIT_KAFKA__PARTITIONS": "12",
        "REVISIT_DELIVERY__DEFAULT_CHANNELS": '["slack", "email"]',
        "REVISIT_DELIVERY__SLACK__CHANNEL": "#sales",
        "REVISIT_DATABASE_URL": "sqlite:///x.sqlite",
        "REVISIT_DELIVERY__BUSINESS_HOURS__ENABLED": "true",
        "REVISIT_SLACK_BOT_TOKEN": "xoxb-not-a-setting",
        "REVISIT_TEST_KAFKA": "127.0.0.1:9092",
    }
    settings = load_settings(config, environ)
    assert settings.kafka.partitions == 12  # the environment wins over the file
    assert settings.alerts.locale == "en"  # the file wins over the default
    assert settings.delivery.default_channels == ("slack", "email")
    assert settings.delivery.slack.channel == "#sales" and settings.delivery.business_hours.enabled is True
    assert settings.database_url == "sqlite:///x.sqlite"
    with pytest.raises(BadInput, match=r"environment variable REVISIT_KAFKA__PARTITION: kafka.partition: unknown key"):
        load_settings(config, {"REVISIT_KAFKA__PARTITION": "8"})
    with pytest.raises(BadInput, match=r"REVISIT_KAFKA__PARTITIONS: kafka.partitions: expected an integer, got 'many'"):
        load_settings(None, {"REVISIT_KAFKA__PARTITIONS": "many"})


def test_config_check_prints_the_effective_settings_with_secrets_masked(tmp_path, capsys, monkeypatch) -> None:
    import json

    from revisit.cli import main

    monkeypatch.setenv("REVISIT_DATABASE_URL", "postgresql+psycopg://revisit:hunter2@db.internal/revisit")
    monkeypatch.setenv("REVISIT_SLACK_BOT_TOKEN", "xoxb-very-secret")
    monkeypatch.setenv("REVISIT_WORKER__WEB_PORT", "7000")
    assert main(["config", "check"]) == 0
    out = capsys.readouterr().out
    assert "hunter2" not in out and "xoxb-very-secret" not in out
    shown = json.loads(out)
    assert shown["settings"]["database_url"] == "postgresql+psycopg://revisit:***@db.internal/revisit"
    assert shown["settings"]["worker"]["web_port"] == 7000
    assert shown["secrets"]["slack bot token"] == "$REVISIT_SLACK_BOT_TOKEN: set"
    bad = tmp_path / "bad.toml"
    bad.write_text("[delivery.email]\nprot = 25\n", encoding="utf-8")
    assert main(["config", "check", "--config", str(bad)]) == 2
    assert "delivery.email.prot: unknown key" in capsys.readouterr().err
