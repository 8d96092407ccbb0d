"""Every sentence ``revisit explain`` says exists in Japanese, with the same values in it; and the
explanation of a real MaxMind answer reads in Japanese from start to end."""

from __future__ import annotations

import ast
import json
import string
from pathlib import Path

import pytest

from revisit import cli
from revisit.cli import main
from revisit.core.match import MatchMethod
from revisit.core.organization import OrgKind
from revisit.core.phrase import Phrase
from revisit.enrichment import explain, japanese, ledger
from revisit.enrichment.match import method_words
from tests.conftest import mmdb

ENRICHMENT = Path(explain.__file__).parent
SAYING = {"of", "because", "say"}  # Phrase.of, NoMatch.because, ExplainWords.say: a template first


def _templates_in_source() -> set[str]:
    found: set[str] = set()
    for path in [*ENRICHMENT.glob("*.py"), Path(cli.__file__)]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SAYING:
                found.update(_literal_choices(node.args[0]) if node.args else ())
    return found


def _literal_choices(node: ast.expr) -> list[str]:
    """The strings a template argument can be: a literal, or either side of ``a if c else b``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _literal_choices(node.body) + _literal_choices(node.orelse)
    return []


def _constants() -> set[str]:
    return {
        explain.NOT_ASKED,
        explain.LEDGER_NOT_IN_CSV,
        explain.LEDGER_NO_LIST,
        explain.LEDGER_NOT_IN_DATABASE,
        ledger.SEEN_ONCE,
        ledger.SEEN_TIMES,
        ledger.SIGN_IN,
        ledger.FORM,
        *(str(method_words(method)) for method in MatchMethod),
        *(kind.value for kind in OrgKind),
        "allowed",
        "NOT allowed by its terms",
        "unknown: check the terms of whoever made the file",
    }


def _fields(template: str) -> set[str]:
    return {name for _text, name, _spec, _conversion in string.Formatter().parse(template) if name is not None}


def test_the_scan_finds_the_match_reasons() -> None:
    templates = _templates_in_source()
    assert "no resolver knows this address" in templates and "no listed name is close" in templates
    # both sides of a conditional template (enrichment.maxmind._on_the_list)
    assert "{named} is {provider}, on the access-provider list ({kind})" in templates
    assert len(templates) >= 40


@pytest.mark.parametrize("template", sorted(_templates_in_source() | _constants()))
def test_every_sentence_has_its_japanese_with_the_same_values(template: str) -> None:
    translated = japanese.TRANSLATIONS.get(template)
    assert translated is not None, f"no Japanese for {template!r}"
    assert _fields(translated) == _fields(template)
    assert translated != template


def test_a_phrase_says_its_values_in_the_same_language() -> None:
    inner = Phrase.of("no listed name is {minimum:.0f}% alike", minimum=88.0)
    outer = Phrase.of(
        "no account has the organisation's name {name!r} exactly, and the fuzzy match declined: {verdict}",
        name="Lariat Software",
        verdict=inner,
    )
    assert str(outer) == (
        "no account has the organisation's name 'Lariat Software' exactly, and the fuzzy match declined: "
        "no listed name is 88% alike"
    )
    assert outer.said_in(japanese.TRANSLATIONS) == (
        "組織名「Lariat Software」とそのまま一致する取引先はなく、あいまい一致も見送りました："
        "88% 以上似ている名前はリストにありません"
    )


def test_explain_speaks_japanese_by_default(tmp_path: Path, capsys) -> None:
    """alerts.locale is "ja" unless configured: the fuzzy match of MaxMind's test ISP answer
    "Lariat Software" (216.160.83.56), and Comcast's subscriber (50.139.66.106), line by line."""
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("account_id,name\nE07,Lariat Softwere\nE08,Lariot Software Group\n", encoding="utf-8")
    common = ["--accounts", str(accounts), "--mmdb", mmdb("GeoIP2-ISP-Test")]
    assert main(["explain", "216.160.83.56", *common]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == [
        "アドレス 216.160.83.56",
        "各情報源の結果：",
        "  取引先リストのネットワーク             該当なし",
    ]
    assert lines[4] == (
        "  MaxMind 形式のデータベース             Lariat Software [企業] ネットワーク 216.160.83.56/29 AS209。"
        "根拠：組織「Lariat Software」（ISP「Century Link」経由）"
    )
    assert lines[5:] == [
        "組織：Lariat Software [企業]、出典：MaxMind 形式のデータベース",
        "  利用条件：MaxMind GeoIP データベース（MaxMind 商用ライセンス（End User License Agreement）、"
        "https://www.maxmind.com/en/end-user-license-agreement）。営業での利用：可",
        "  注意：MaxMind は広告・マーケティングでの利用について「Do Not Sell」のプライバシー除外を守るよう求めています",
        "検討した取引先（右端の数字は社名の近さ 0〜100。一致の確度とは別です）：",
        "  E07          Lariat Softwere                  あいまい一致 社名「Lariat Softwere」  93.3",
        "一致：取引先 E07「Lariat Softwere」（あいまい一致による、確度 0.60）",
        "  理由：「Lariat Software」は「Lariat Softwere」と 93% 似ており、"
        "8 ポイント以内に他の取引先はありません（取引先の社名）",
        "  休眠の判定（本日）：ランク C（リストに取引・接触の日付なし）",
    ]

    assert main(["explain", "50.139.66.106", *common]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "一致なし：接続事業者の通信です（ISP: Comcast Cable）。名前では照合しません"
    assert main(["explain", "10.1.2.3", *common]) == 0
    assert capsys.readouterr().out == (
        "アドレス 10.1.2.3 はプライベートまたは予約済みのアドレスです。組織を調べる前に除外します（一致なし）\n"
    )
    assert main(["explain", "--locale", "en", "50.139.66.106", *common]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "no match: traffic of an access provider (isp: Comcast Cable); never matched by name"
    )


def test_an_organisation_crosses_processes_without_its_clues_sentences() -> None:
    """Replay's workers pickle every new address's organisation; only explain, in the process
    that resolved it, says the clues in another language."""
    import pickle

    from revisit.core.organization import Organization, OrgKind, clues_said

    clues = (Phrase.of("organisation {organization!r}", organization="Lariat Software"), Phrase.of("hosting provider"))
    organization = Organization("Lariat Software", OrgKind.BUSINESS, "maxmind", 0.8, **clues_said(*clues))
    assert organization.evidence == "organisation 'Lariat Software'; hosting provider"
    back = pickle.loads(pickle.dumps(organization, pickle.HIGHEST_PROTOCOL))
    assert back == organization and hash(back) == hash(organization)
    assert (back.evidence, back.evidence_said, organization.evidence_said) == (organization.evidence, (), clues)
    from revisit.core.account import Account
    from revisit.core.match import AccountMatch, MatchMethod, NoMatch

    said = Phrase.of("address is in {network}, one of the account's own networks", network="203.0.113.0/24")
    match = AccountMatch.because(Account("E1", "Lariat Software"), MatchMethod.NETWORK, 1.0, said)
    crossed = pickle.loads(pickle.dumps(match, pickle.HIGHEST_PROTOCOL))
    assert (crossed, crossed.detail, crossed.phrase, match.phrase) == (match, str(said), None, said)
    no_match = NoMatch.because("no resolver knows this address")
    assert pickle.loads(pickle.dumps(no_match)).reason == "no resolver knows this address"


def test_a_phrase_stored_as_a_record_reads_back_the_same_or_not_at_all() -> None:
    """Stored evidence (a learned network's, an RDAP answer's) keeps its phrase as JSON; a record
    that does not read back (another version's, damaged) is no phrase, and its English is said."""
    phrase = Phrase.of(
        "{what} {source}: {described}",
        what=Phrase.of("form export"),
        source=Phrase.of("{file} line {line}", file="leads.csv", line=3),
        described=Phrase.of("an address at {domain}", domain="example.co.jp"),
    )
    record = json.loads(json.dumps(phrase.to_record()))
    assert Phrase.stored(record) == phrase and str(Phrase.stored(record)) == str(phrase)
    assert str(phrase) == "form export leads.csv line 3: an address at example.co.jp"
    for damaged in (None, {}, {"template": 3}, {"template": "{a}", "values": [["a"]]}, ["x"], "text"):
        assert Phrase.stored(damaged) is None
