"""Outcomes recorded against real alerts, and the reactivation report built from them."""

from __future__ import annotations

import json

from rich.cells import cell_len

from revisit.cli import main
from tests.test_cli import inputs, read_jsonl, replay_args  # noqa: F401 (fixture)


def test_outcomes_make_the_reactivation_report(inputs, tmp_path, capsys, monkeypatch) -> None:  # noqa: F811
    db_url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    assert main(replay_args(inputs, db_url)) == 0
    alerts = {a["account_id"]: a for a in read_jsonl(inputs["jsonl"])}
    a_tier, b_tier = alerts["E01"]["alert_id"], alerts["E02"]["alert_id"]
    assert main(["alerts", "outcome", a_tier, "--result", "contacted", "--by", "sato", "--db", db_url]) == 0
    assert main(["alerts", "outcome", a_tier, "--result", "won", "--note", "renewal signed", "--db", db_url]) == 0
    assert main(["alerts", "outcome", b_tier, "--result", "not_interested", "--db", db_url]) == 0
    assert main(["alerts", "outcome", "no-such-alert", "--result", "won", "--db", db_url]) == 2
    assert "ID が no-such-alert のアラートはありません" in capsys.readouterr().err  # alerts.locale
    assert main(["report", "--json", "--db", db_url]) == 0
    lines = {(line["dimension"], line["value"]): line for line in json.loads(capsys.readouterr().out)}
    total_a = sum(1 for a in read_jsonl(inputs["jsonl"]) if a["tier"] == "A")
    assert lines[("tier", "A")]["alerts"] == total_a and lines[("tier", "A")]["won"] == 1
    assert lines[("tier", "A")]["reactivation_rate"] == round(1 / total_a, 4)
    assert (lines[("tier", "B")]["followed_up"], lines[("tier", "B")]["reactivated"]) == (1, 0)
    assert lines[("reason", "timing")]["won"] == 1 and lines[("reason", "competitor")]["won"] == 0
    # the table in the team's language (alerts.locale, ja by default), aligned by display width,
    # each approach by number with its paragraph in full below (cut to 40 characters, several
    # approaches read the same: README user's finding)
    assert main(["report", "--db", db_url]) == 0
    table, _, paragraphs = capsys.readouterr().out.rstrip("\n").partition("\n\n")
    period, *rows = table.splitlines()
    assert period == "期間：これまでのすべてのアラート"  # a README user could not tell --since was applied
    paragraphs, _, legend = paragraphs.partition("\n\n")
    assert legend == "再活性化：商談化か受注まで進んだアラート。再活性化率は再活性化 ÷ アラート"
    assert rows[0].split() == ["アラート", "対応済み", "再活性化", "受注", "再活性化率"]
    assert len({cell_len(row) for row in rows}) == 1
    won = lines[("tier", "A")]
    tier_a = f"{won['reactivation_rate']:.1%}"
    assert ["ランク", "A", str(total_a), "1", "1", "1", tier_a] in [row.split() for row in rows]
    assert next(r.split()[:2] for r in rows if "タイミング" in r) == ["休眠理由", "前回はタイミングが合わなかった"]
    approaches = [line["value"] for (dimension, _), line in lines.items() if dimension == "approach"]
    assert paragraphs.splitlines() == [f"#{n} {text}" for n, text in enumerate(approaches, 1)]
    assert [row.split()[:2] for row in rows if row.startswith("アプローチ")] == [
        ["アプローチ", f"#{n}"] for n in range(1, len(approaches) + 1)
    ]
    monkeypatch.setenv("REVISIT_ALERTS__LOCALE", "en")
    assert main(["report", "--db", db_url]) == 0
    rows = capsys.readouterr().out.split("\n\n")[0].splitlines()[1:]
    assert rows[0].split() == ["alerts", "followed", "reactivated", "won", "rate"]
    assert ["tier", "A", str(total_a), "1", "1", "1", tier_a] in [row.split() for row in rows]
    assert any(row.startswith("reason   the timing was wrong ") for row in rows)
    assert main(["report", "--db", db_url, "--since", "2030-01-01"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "period: alerts raised since 2030-01-01 (JST)",  # the team's day (delivery.business_hours.timezone)
        "no alerts in this period",
    ]
    # the day begins in the team's zone: E02's alert at 07:05 JST on 20 May (22:05 UTC the day
    # before) is in a report since 20 May, with E01's of 21 May
    assert main(["report", "--json", "--db", db_url, "--since", "2015-05-20"]) == 0
    since = json.loads(capsys.readouterr().out)
    assert {line["value"]: line["alerts"] for line in since if line["dimension"] == "tier"} == {"A": 1, "B": 1}
    assert main(["report", "--db", db_url, "--since", "yesterday"]) == 2
