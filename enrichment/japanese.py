"""What the enrichment layer says to people, in Japanese: ``revisit explain``'s words, the match
reasons (``Phrase`` templates of ``enrichment.match`` and ``enrichment.fuzzy``) and the sources'
notes. Keyed by the English, as a gettext catalogue is; tests/test_explain_words.py checks that
every template said to a reader has its translation here, with the same fields.
"""

from __future__ import annotations

SOURCES = {
    "account_networks": "取引先リストのネットワーク",
    "ledger": "ネットワーク台帳（ログイン・フォーム）",
    "maxmind": "MaxMind データベース",
    "geolite2": "MaxMind GeoLite2 データベース",
    "ipinfo_lite": "IPinfo Lite データベース",
    "dbip_lite": "DB-IP Lite データベース",
    "iptoasn": "iptoasn データベース",
    "mmdb": "MaxMind 形式のデータベース",
    "reverse_dns": "逆引き DNS",
    "rdap": "RDAP レジストリ",
    "rdap+jpnic": "RDAP + JPNIC whois",
    # the late resolvers' own labels (``LateAnswer.notes``)
    "reverse DNS": "逆引き DNS",
    "RDAP": "RDAP レジストリ",
    "RDAP (cached)": "RDAP レジストリ（保存済みの答え）",
    "reverse DNS / RDAP": "逆引き DNS / RDAP",
}

KINDS = {
    "business": "企業",
    "isp": "ISP",
    "mobile": "モバイル回線",
    "hosting": "ホスティング・クラウド",
    "vpn": "VPN",
    "education": "教育機関",
    "government": "官公庁",
    "unknown": "種別不明",
}

METHODS = {
    "network": "ネットワーク",
    "ledger": "ネットワーク台帳",
    "domain": "ドメイン",
    "name": "社名",
    "alias": "別名",
    "fuzzy": "あいまい一致",
    "english_name": "登記英語名",
    "reading": "登記フリガナ",
}

TRANSLATIONS = {
    # revisit explain
    "address {address}": "アドレス {address}",
    "what each source says:": "各情報源の答え:",
    "no answer": "答えなし",
    "not asked: the fast sources settled it": "問い合わせず（手元の情報源で決まったため）",
    "domain {domain}": "ドメイン {domain}",
    "network {network}": "ネットワーク {network}",
    "organisation: unknown (no source named one)": "組織: 不明（どの情報源も組織を挙げませんでした）",
    "organisation: {organization} [{kind}] from {source}": "組織: {organization} [{kind}]（{source}による）",
    ", an access provider (its customers are not told apart)": "、接続事業者です（その利用者は見分けられません）",
    "terms: {summary}": "利用条件: {summary}",
    "note: {note}": "注意: {note}",
    "accounts considered:": "検討した取引先:",
    "accounts considered: none": "検討した取引先: なし",
    "match: account {account} {name!r} by {method}, confidence {confidence:.2f}": (
        "一致: 取引先 {account}「{name}」（{method}による、確度 {confidence:.2f}）"
    ),
    "why: {reason}": "理由: {reason}",
    "no match: {reason}": "一致なし: {reason}",
    "address {address}: a private or reserved address, filtered before resolution (no match)": (
        "アドレス {address}: プライベートまたは予約済みのアドレスです。組織を調べる前に除外します（一致なし）"
    ),
    "address {address}: one of our own networks (filters.own_networks), filtered before resolution (no match)": (
        "アドレス {address}: 自社のネットワーク（filters.own_networks）です。組織を調べる前に除外します（一致なし）"
    ),
    "{address} is in {network}, learned for account {account}: {entry}": (
        "{address} は {network} の中にあり、取引先 {account} について学んだものです: {entry}"
    ),
    "note: the ledger cannot match {count} learned network(s): their account(s) {ids} are not in the "
    "--accounts list (they left the list, or pass the list the ledger was learned with)": (
        "注意: 台帳で学んだネットワーク {count} 件は照合できません。取引先 {ids} が --accounts のリストに"
        "ありません（リストから外れたか、台帳を学んだときのリストを渡してください）"
    ),
    "note: the ledger cannot match {count} learned network(s): their account(s) {ids} are not in the "
    "database's account list, which is empty (store the list with `revisit accounts import CSV --db URL`, "
    "or pass --accounts CSV)": (
        "注意: 台帳で学んだネットワーク {count} 件は照合できません。データベースの取引先リストが空で、"
        "取引先 {ids} がありません（`revisit accounts import CSV --db URL` でリストを保存するか、"
        "--accounts CSV を渡してください）"
    ),
    "note: the ledger cannot match {count} learned network(s): their account(s) {ids} are not in the "
    "database's account list (they left the list, or pass the current list with --accounts CSV)": (
        "注意: 台帳で学んだネットワーク {count} 件は照合できません。取引先 {ids} がデータベースの取引先リストに"
        "ありません（リストから外れたか、--accounts CSV で今のリストを渡してください）"
    ),
    # a source's terms
    "{title}: {licence} ({url}); sales use {sales_use}": "{title}: {licence}（{url}）。営業での利用: {sales_use}",
    "; credit required: {credit!r}": "。クレジット表記が必要: 「{credit}」",
    "allowed": "可",
    "NOT allowed by its terms": "不可（利用条件で禁止）",
    "unknown: check the terms of whoever made the file": "不明（ファイルの作成元の条件を確認してください）",
    # how an account came into question
    "own network {network}": "自社ネットワーク {network}",
    "ledger {network} ({kind})": "台帳 {network}（{kind}）",
    "sign-in": "ログイン",
    "form": "フォーム",
    "{method} {listed!r}": "{method}「{listed}」",
    "registered {method} {listed!r}": "登記{method}「{listed}」",
    "fuzzy {method} {listed!r}": "あいまい一致 {method}「{listed}」",
    "name": "社名",
    "alias": "別名",
    "network": "ネットワーク",
    "ledger": "台帳",
    "domain": "ドメイン",
    "fuzzy": "あいまい一致",
    "English name": "英語名",
    "reading": "フリガナ",
    # enrichment.match
    "network {network} is listed on {count} accounts ({ids}); fix the list": (
        "ネットワーク {network} が {count} 件の取引先（{ids}）に載っています。リストを直してください"
    ),
    "address is in {network}, one of the account's own networks": (
        "アドレスは取引先自身のネットワーク {network} の中にあります"
    ),
    "ledger: {network} was learned for {count} accounts ({ids}); revoke the wrong one (`revisit ledger revoke`)": (
        "台帳: {network} が {count} 件の取引先（{ids}）について記録されています。"
        "誤っている方を取り消してください（`revisit ledger revoke`）"
    ),
    "ledger: address is in {network}, learned for the account from {entry}": (
        "台帳: アドレスは {network} の中にあり、この取引先について次の記録から学んだものです: {entry}"
    ),
    "{evidence}; seen {count} time, first {first}, last {last}, until {until}": (
        "{evidence}。確認 {count} 回、初回 {first}、最終 {last}、有効期限 {until}"
    ),
    "{evidence}; seen {count} times, first {first}, last {last}, until {until}": (
        "{evidence}。確認 {count} 回、初回 {first}、最終 {last}、有効期限 {until}"
    ),
    "no resolver knows this address": "このアドレスを知っている情報源がありません",
    "traffic of an access provider ({kind}: {provider}); never matched by name": (
        "接続事業者の通信です（{kind}: {provider}）。名前では照合しません"
    ),
    "domain {domain} is on {count} accounts ({ids})": "ドメイン {domain} が {count} 件の取引先（{ids}）に載っています",
    "organisation domain {domain} is the account's {listed}": (
        "組織のドメイン {domain} は取引先のドメイン {listed} です"
    ),
    "name {name!r} fits {count} accounts ({ids}); none is alerted": (
        "社名「{name}」は {count} 件の取引先（{ids}）に当てはまるため、どの取引先にも通知しません"
    ),
    "{name!r} and the account's {method} {listed!r} are both {key!r} once legal forms, "
    "width, case and punctuation are set aside": (
        "「{name}」と取引先の{method}「{listed}」は、法人格・全角半角・大文字小文字・記号を除くとどちらも「{key}」です"
    ),
    "name {name!r} is the registered English name or reading of {count} accounts ({ids}); none is alerted": (
        "社名「{name}」は {count} 件の取引先（{ids}）の登記英語名またはフリガナに当たるため、どの取引先にも通知しません"
    ),
    "{name!r} and the account's registered {method} {listed!r} are both {key!r} once legal "
    "forms, case and long vowels are set aside": (
        "「{name}」と取引先の登記{method}「{listed}」は、法人格・大文字小文字・長音を除くとどちらも「{key}」です"
    ),
    "{name!r} is {verdict} (the account's {method})": "「{name}」は{verdict}（取引先の{method}）",
    "no account has the organisation's name {name!r} exactly, and the fuzzy match declined: {verdict}": (
        "組織名「{name}」とそのまま一致する取引先はなく、あいまい一致も見送りました: {verdict}"
    ),
    "{name!r} is {verdict} (the account's registered {method}, romanised and folded)": (
        "「{name}」は{verdict}（取引先の登記{method}をローマ字にして表記を揃えたもの）"
    ),
    "no account has the organisation's name {name!r}, and the match with registered "
    "English names and readings declined: {verdict}": (
        "組織名「{name}」の取引先はなく、登記英語名・フリガナとの照合も見送りました: {verdict}"
    ),
    "no account has the organisation's network, domain or name ({organization})": (
        "組織のネットワーク・ドメイン・名前のどれも取引先リストにありません（{organization}）"
    ),
    # enrichment.fuzzy
    "no listed name is {minimum:.0f}% alike": "{minimum:.0f}% 以上似ている名前はリストにありません",
    "no listed name is close": "似ている名前はリストにありません",
    "the closest listed name, {listed!r}, is only {score:.0f}% alike (needs {minimum:.0f}%)": (
        "最も近いリストの名前「{listed}」でも {score:.0f}% しか似ていません（{minimum:.0f}% 必要）"
    ),
    "{first!r} ({first_score:.0f}%) and {second!r} ({second_score:.0f}%) are too close to tell apart": (
        "「{first}」（{first_score:.0f}%）と「{second}」（{second_score:.0f}%）が近すぎて見分けられません"
    ),
    "{score:.0f}% alike to {listed!r}, the next account only {next_score:.0f}%": (
        "「{listed}」と {score:.0f}% 似ており、次に近い取引先は {next_score:.0f}% です"
    ),
    "{score:.0f}% alike to {listed!r}, no other account within {margin:.0f} points": (
        "「{listed}」と {score:.0f}% 似ており、{margin:.0f} ポイント以内に他の取引先はありません"
    ),
}

# a source's terms, by its key (``enrichment.terms``): product names and licence names stay as they are
TITLES = {
    "account_networks": "取引先リストのネットワーク",
    "ledger": "自社のネットワーク台帳",
    "revisit_demo": "revisit デモの IP データベース（IPinfo Lite の形式による架空のレコード）",
    "mmdb": "作成元不明の MaxMind 形式データベース",
    "reverse_dns": "逆引き DNS（PTR 名）",
    "rdap": "地域インターネットレジストリの RDAP/WHOIS（ARIN、APNIC、RIPE NCC、LACNIC、AFRINIC）",
    "rdap+jpnic": "JPNIC WHOIS（APNIC の RDAP 経由）",
}
LICENCES = {
    "account_networks": "自社のデータ",
    "ledger": "自社のデータ（自社の訪問者のログインとフォームの書き出し）",
    "maxmind": "MaxMind 商用ライセンス（End User License Agreement）",
    "revisit_demo": "`revisit demo` が作った架空のデータ（第三者のデータなし）",
    "mmdb": "不明",
    "reverse_dns": "公開された DNS の答え（ライセンスなし）",
    "rdap": "各レジストリの WHOIS/RDAP 利用条件",
    "rdap+jpnic": "JPNIC WHOIS 利用条件",
}
NOTES = {
    "ledger": "自社で得た証拠です。メールアドレスはドメインだけを保存します（README のデータ一覧）",
    "maxmind": "MaxMind は広告・マーケティングでの利用について「Do Not Sell」のプライバシー除外を守るよう求めています",
    "geolite2": "データベースの再配布はできません。MaxMind の「Do Not Sell」のプライバシー除外を守ってください",
    "revisit_demo": (
        "組織とネットワークはデモ用の架空のもので、実在の訪問者を指しません。IPinfo のクレジット表記は"
        "本物の IPinfo Lite ファイルに必要なもので、このファイルには要りません"
    ),
    "dbip_lite": "結果を表示・利用するページには db-ip.com へのリンクが必要です",
    "reverse_dns": "問い合わせのたびに訪問者のアドレスが自社の DNS リゾルバーに送られます",
}
# said before a note that quotes the registries' own words, which stay as they are
NOTE_LEADS = {"rdap": "各レジストリの条件（原文の引用）: ", "rdap+jpnic": "各レジストリの条件（原文の引用）: "}

TRANSLATIONS |= KINDS  # a kind said inside a reason ("traffic of an access provider (isp: ...)")
