"""Outcomes recorded against real alerts, and the reactivation report built from them."""

from __future__ import annotations

import json

from revisit.cli import main
from tests.test_cli import inputs, read_jsonl, replay_args  # noqa: F401 (fixture)


def test_outcomes_make_the_reactivation_report(inputs, tmp_path, capsys) -> None:  # noqa: F811
    db_url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    assert main(replay_args(inputs, db_url)) == 0
    alerts = {a["account_id"]: a for a in read_jsonl(inputs["jsonl"])}
    a_tier, b_tier = alerts["E01"]["alert_id"], alerts["E02"]["alert_id"]
    assert main(["alerts", "outcome", a_tier, "--result", "contacted", "--by", "sato", "--db", db_url]) == 0
    assert main(["alerts", "outcome", a_tier, "--result", "won", "--note", "renewal signed", "--db", db_url]) == 0
    assert main(["alerts", "outcome", b_tier, "--result", "not_interested", "--db", db_url]) == 0
    assert main(["alerts", "outcome", "no-such-alert", "--result", "won", "--db", db_url]) == 2
    assert "no alert 'no-such-alert'" in capsys.readouterr().err
    assert main(["report", "--json", "--db", db_url]) == 0
    lines = {(line["dimension"], line["value"]): line for line in json.loads(capsys.readouterr().out)}
    total_a = sum(1 for a in read_jsonl(inputs["jsonl"]) if a["tier"] == "A")
    assert lines[("tier", "A")]["alerts"] == total_a and lines[("tier", "A")]["won"] == 1
    assert lines[("tier", "A")]["reactivation_rate"] == round(1 / total_a, 4)
    assert (lines[("tier", "B")]["followed_up"], lines[("tier", "B")]["reactivated"]) == (1, 0)
    assert lines[("reason", "timing")]["won"] == 1 and lines[("reason", "competitor")]["won"] == 0
    assert main(["report", "--db", db_url, "--since", "2030-01-01"]) == 0
    assert "no alerts in this period" in capsys.readouterr().out
    assert main(["report", "--db", db_url, "--since", "yesterday"]) == 2
