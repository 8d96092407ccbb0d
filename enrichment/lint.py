"""Data hygiene of the dormant-account list (``revisit accounts lint``), before any campaign.

The source articles ask for this first: the same company listed twice gets two calls, a row
without an owner gets an alert nobody reads, a row without domain or network can only be matched
by name. Each finding names the accounts and says why it matters, in English or Japanese (the team's
``alerts.locale``: whoever keeps the list reads the alerts too). Pure: accounts in, findings out.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from revisit.core.account import Account
from revisit.core.config import MatchingSettings
from revisit.core.networks import subnet_of
from revisit.enrichment.houjin import check_digit_ok, describe_closure
from revisit.enrichment.normalize import normalize_uncached
from revisit.enrichment.providers import ProviderDirectory, access_providers

# (kind, why it matters), in the order they are reported
KINDS = {
    "same_name": "the same company written two ways: it would be contacted twice",
    "same_name_distinct_companies": "one name, different corporate numbers (法人番号): distinct companies, "
    "not duplicates; a visitor known only by this name matches neither, so give each its domain or network",
    "similar_name": "names this alike may be one company: check, then merge or add aliases",
    "shared_domain": "a domain on two accounts matches neither of them",
    "shared_network": "networks overlap between accounts: the same network on two accounts matches neither; a "
    "network inside another account's takes those addresses from it (the most specific network wins)",
    "access_provider": "an access provider's name: only the account's own networks can ever match it",
    "no_owner": "no owner e-mail or Slack: its alerts reach no rep, only the fallback address or team channel "
    "if one is set",
    "no_domain_or_network": "no domain and no network: only its name can match it",
    "no_dates": "no last deal or contact date: counted as tier C (light touch)",
    "future_date": "a last deal or contact date in the future",
    "bad_corporate_number": "a corporate number (法人番号) that is not 13 digits, or whose first digit does not "
    "check the other 12: a typo, which the corporate-number data never finds",
    "merged_company": "merged into another company (corporate-number data): follow up the successor, "
    "whose name and networks are the ones visiting now",
    "closed_company": "the company was closed (corporate-number data): no one is left to win back",
}

# the same, as a Japanese team reads it (the kind codes stay: they are what --json and scripts use)
KINDS_JA = {
    "same_name": "同じ会社が別の書き方で二度載っています。二重に連絡してしまいます",
    "same_name_distinct_companies": "同じ名前で法人番号が異なります。重複ではなく別々の会社です。"
    "名前しか分からない訪問者はどちらにも照合されないため、それぞれにドメインかネットワークを登録してください",
    "similar_name": "よく似た名前です。同じ会社かもしれません。確認のうえ統合するか、別名（aliases）に加えてください",
    "shared_domain": "同じドメインが複数の取引先にあり、どの取引先にも照合されません",
    "shared_network": "ネットワークが取引先の間で重なっています。まったく同じネットワークはどの取引先にも照合されず、"
    "別の取引先のネットワークの内側にあるネットワークは、その範囲のアドレスを内側の取引先が引き受けます（最も狭いネットワークが優先）",
    "access_provider": "接続事業者の名前です。この取引先自身のネットワークからのアクセスしか照合できません",
    "no_owner": "担当者のメールアドレスも Slack もありません。アラートは担当者に届かず、"
    "代わりの宛先（email.fallback_to やチームのチャンネル）があればそこにだけ届きます",
    "no_domain_or_network": "ドメインもネットワークもありません。社名でしか照合できません",
    "no_dates": "最終取引日も最終接触日もありません。ランク C（軽い接触）として扱います",
    "future_date": "最終取引日または最終接触日が未来の日付です",
    "bad_corporate_number": "法人番号が 13 桁でないか、先頭のチェックデジットが合いません。"
    "入力ミスの可能性があり、法人番号データと照合できません",
    "merged_company": "他社に合併されています（法人番号データ）。"
    "いまアクセスしてくるのは承継法人の名前とネットワークです。承継法人をフォローしてください",
    "closed_company": "閉鎖された会社です（法人番号データ）。掘り起こす相手がいません",
}

# what each kind is called in a Japanese report, before its code
KIND_LABELS_JA = {
    "same_name": "同じ会社の重複",
    "same_name_distinct_companies": "同名の別会社",
    "similar_name": "よく似た名前",
    "shared_domain": "ドメインの重複",
    "shared_network": "ネットワークの重なり",
    "access_provider": "接続事業者の名前",
    "no_owner": "担当者なし",
    "no_domain_or_network": "ドメイン・ネットワークなし",
    "no_dates": "日付なし",
    "future_date": "未来の日付",
    "bad_corporate_number": "法人番号の誤り",
    "merged_company": "合併した会社",
    "closed_company": "閉鎖した会社",
}

# the words of a finding's detail
_DETAIL = {
    "en": {
        "provider": "{name!r} is {provider} ({kind})",
        "inside": "{inner} inside {outer}",
        "alike": "{a!r} ~ {b!r} ({score:.0f}% alike)",
        "one_apart": "{a!r} ~ {b!r} ({score:.0f}% alike, one character apart)",
        "number": "法人番号 {number}",
        "no_number": "no corporate number",
    },
    "ja": {
        "provider": "{name!r} は {provider}（{kind}）",
        "inside": "{inner}（{outer} の内側）",
        "alike": "{a!r} ~ {b!r}（一致度 {score:.0f}%）",
        "one_apart": "{a!r} ~ {b!r}（一致度 {score:.0f}%、一字違い）",
        "number": "法人番号 {number}",
        "no_number": "法人番号なし",
    },
}
_PROVIDER_KINDS_JA = {
    "isp": "インターネット接続事業者",
    "mobile": "携帯通信事業者",
    "hosting": "ホスティング事業者",
    "vpn": "VPN",
}


def why_in(kind: str, locale: str) -> str:
    """Why a finding of ``kind`` matters, in ``ja`` or (any other locale) English."""
    return KINDS_JA[kind] if locale == "ja" else KINDS[kind]


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    account_ids: tuple[str, ...]
    detail: str

    @property
    def why(self) -> str:
        return KINDS[self.kind]


def lint_accounts(
    accounts: Sequence[Account],
    today: date,
    matching: MatchingSettings | None = None,
    providers: ProviderDirectory | None = None,
    locale: str = "en",
) -> list[Finding]:
    """The findings, their details in ``locale`` (``ja``, else English)."""
    matching = matching or MatchingSettings()
    providers = providers or access_providers()
    words = _DETAIL["ja" if locale == "ja" else "en"]
    findings: list[Finding] = []
    findings += _same_names(accounts, words)
    findings += _similar_names(accounts, matching, words)
    findings += _shared_domains(accounts)
    findings += _shared_networks(accounts, words)
    for account in accounts:
        provider = providers.for_name(account.name)
        if provider is not None:
            kind = provider.kind.value
            shown_kind = _PROVIDER_KINDS_JA.get(kind, kind) if locale == "ja" else kind
            detail = words["provider"].format(name=account.name, provider=provider.name, kind=shown_kind)
            findings.append(Finding("access_provider", (account.account_id,), detail))
        if not account.owner.email and not account.owner.slack:
            findings.append(Finding("no_owner", (account.account_id,), account.name))
        if not account.domains and not account.networks:
            findings.append(Finding("no_domain_or_network", (account.account_id,), account.name))
        number = _corporate_number(account)
        if number and not check_digit_ok(number):
            findings.append(Finding("bad_corporate_number", (account.account_id,), f"{account.name}: {number!r}"))
        closure = describe_closure(dict(account.attributes), locale)
        if closure is not None:
            kind = "merged_company" if dict(account.attributes)["houjin_status"] == "merged" else "closed_company"
            findings.append(Finding(kind, (account.account_id,), f"{account.name}: {closure}"))
        if account.last_touch is None:
            findings.append(Finding("no_dates", (account.account_id,), account.name))
        elif account.last_touch > today:
            findings.append(Finding("future_date", (account.account_id,), f"{account.name}: {account.last_touch}"))
    order = list(KINDS)
    return sorted(findings, key=lambda f: (order.index(f.kind), f.account_ids))


def _corporate_number(account: Account) -> str:
    return dict(account.attributes).get("corporate_number", "").strip()


def _same_names(accounts: Iterable[Account], words: dict[str, str]) -> list[Finding]:
    """Accounts whose names (or aliases) normalise alike. When their corporate numbers differ they
    are homonyms, reported as distinct companies; accounts that share a number, or of which at most
    one has a number, are the same company listed twice."""
    by_key: dict[str, dict[str, str]] = defaultdict(dict)  # key → account id → name as listed
    numbers: dict[str, str] = {}
    for account in accounts:
        numbers[account.account_id] = _corporate_number(account)
        for text in (account.name, *account.aliases):
            key = normalize_uncached(text).key
            if key:
                by_key[key].setdefault(account.account_id, text)
    findings = []
    for key, listed in sorted(by_key.items()):
        if len(listed) < 2:
            continue
        ids = sorted(listed)
        by_number: dict[str, list[str]] = defaultdict(list)
        for account_id in ids:
            by_number[numbers[account_id]].append(account_id)
        if len(by_number.keys() - {""}) < 2:
            findings.append(Finding("same_name", tuple(ids), _listed(listed, ids) + f" → {key!r}"))
            continue
        detail = ", ".join(
            f"{listed[i]!r} ({i}, "
            + (words["number"].format(number=numbers[i]) if numbers[i] else words["no_number"])
            + ")"
            for i in ids
        )
        findings.append(Finding("same_name_distinct_companies", tuple(ids), detail))
        findings += [
            Finding(
                "same_name",
                tuple(same),
                _listed(listed, same) + f" → {key!r}, " + words["number"].format(number=number),
            )
            for number, same in by_number.items()
            if number and len(same) > 1
        ]
    return findings


def _listed(names: dict[str, str], ids: Sequence[str]) -> str:
    return " = ".join(f"{names[i]!r} ({i})" for i in ids)


ONE_APART_MIN_LENGTH = 5


def _similar_names(accounts: Sequence[Account], matching: MatchingSettings, words: dict[str, str]) -> list[Finding]:
    """Pairs of different keys scoring ≥ fuzzy_min_score, or of five characters or more and one
    character apart (サクラ精機 and サクラ精器, a kanji of the same reading typed wrong: 80 % alike
    as five characters go; 山田商事 and 山田商店 are too short to tell).
    Compared within blocks of names starting with the same two characters, so 100,000 accounts
    take seconds, not hours (a typo in the first two characters goes unnoticed). Two accounts with
    different corporate numbers are known to be two companies: no finding."""
    entries: dict[str, tuple[str, str]] = {}  # sorted-words text → (account id, name)
    numbers = {account.account_id: _corporate_number(account) for account in accounts}
    for account in accounts:
        normalized = normalize_uncached(account.name)
        if len(normalized.key) >= matching.fuzzy_min_length:
            entries.setdefault(" ".join(sorted(normalized.words)), (account.account_id, account.name))
    blocks: dict[str, list[str]] = defaultdict(list)
    for text in entries:
        blocks[text[:2]].append(text)
    findings = []
    for texts in blocks.values():
        if len(texts) < 2:
            continue
        for i, text in enumerate(texts):
            later = texts[i + 1 :]
            # one substitution in n characters scores 100 (1 - 1/n): the lowest a one-apart pair can
            cutoff = matching.fuzzy_min_score
            if len(text) >= ONE_APART_MIN_LENGTH:
                cutoff = min(cutoff, 100 * (1 - 1 / len(text)) - 1e-9)
            for other, score, j in process.extract(
                text, later, scorer=fuzz.ratio, processor=None, score_cutoff=cutoff, limit=None
            ):
                one_apart = (
                    min(len(text), len(other)) >= ONE_APART_MIN_LENGTH
                    and Levenshtein.distance(text, other, score_cutoff=1) <= 1
                )
                if score < matching.fuzzy_min_score and not one_apart:
                    continue
                (id_a, name_a), (id_b, name_b) = entries[text], entries[later[j]]
                distinct_companies = numbers[id_a] and numbers[id_b] and numbers[id_a] != numbers[id_b]
                if id_a != id_b and not distinct_companies:
                    detail = words["one_apart" if one_apart else "alike"].format(a=name_a, b=name_b, score=score)
                    findings.append(Finding("similar_name", tuple(sorted((id_a, id_b))), detail))
    return findings


def _shared_domains(accounts: Iterable[Account]) -> list[Finding]:
    by_domain: dict[str, set[str]] = defaultdict(set)
    for account in accounts:
        for domain in account.domains:
            by_domain[domain].add(account.account_id)
    return [
        Finding("shared_domain", tuple(sorted(ids)), domain)
        for domain, ids in sorted(by_domain.items())
        if len(ids) > 1
    ]


def _shared_networks(accounts: Iterable[Account], words: dict[str, str]) -> list[Finding]:
    """The same network on several accounts, or one account's network inside another's."""
    networks = sorted(
        ((network, account.account_id) for account in accounts for network in account.networks),
        key=lambda item: (item[0].version, item[0].network_address, item[0].prefixlen),
    )
    findings = []
    open_blocks: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str]] = []
    for network, account_id in networks:
        open_blocks = [(outer, owner) for outer, owner in open_blocks if subnet_of(network, outer)]
        for outer, owner in open_blocks:
            if owner != account_id:
                detail = str(network) if outer == network else words["inside"].format(inner=network, outer=outer)
                findings.append(Finding("shared_network", tuple(sorted((owner, account_id))), detail))
        open_blocks.append((network, account_id))
    return findings
