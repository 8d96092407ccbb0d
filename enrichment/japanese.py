"""What the enrichment layer says to people, in Japanese: ``revisit explain``'s words, the match
reasons (``Phrase`` templates of ``enrichment.match`` and ``enrichment.fuzzy``) and the sources'
notes. Keyed by the English, as a gettext catalogue is; tests/test_explain_words.py checks that
every template said to a reader has its translation here, with the same fields.
"""

from __future__ import annotations

SOURCES = {
    "account_networks": "取引先リストのネットワーク",
    "ledger": "ネットワーク台帳（ログイン・フォーム）",
    "maxmind": "MaxMind 形式のデータベース",
    "geolite2": "MaxMind GeoLite2 データベース",
    "ipinfo_lite": "IPinfo Lite データベース",
    "revisit_demo": "revisit デモの架空のデータベース",
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
    "what each source says:": "各情報源の結果：",
    "no answer": "該当なし",
    "not asked: the fast sources settled it": "問い合わせず（手元の情報源で決まったため）",
    "domain {domain}": "ドメイン {domain}",
    "network {network}": "ネットワーク {network}",
    "organisation: unknown (no source named one)": "組織：不明（どの情報源も組織を挙げませんでした）",
    "organisation: {organization} [{kind}] from {source}": "組織：{organization} [{kind}]、出典：{source}",
    ", an access provider (its customers are not told apart)": "、接続事業者です（その利用者は見分けられません）",
    "terms: {summary}": "利用条件：{summary}",
    "note: {note}": "注意：{note}",
    "accounts considered (the last column: how closely the name fits, 0-100):": (
        "検討した取引先（右端の数字は社名の近さ 0〜100。一致の確度とは別です）："
    ),
    "accounts considered: none": "検討した取引先：なし",
    "match: account {account} {name!r} by {method}, confidence {confidence:.2f}": (
        "一致：取引先 {account}「{name}」（{method}による、確度 {confidence:.2f}）"
    ),
    "why: {reason}": "理由：{reason}",
    "dormancy today: tier C (no deal or contact date in the list)": (
        "休眠の判定（本日）：ランク C（リストに取引・接触の日付なし）"
    ),
    "dormancy today: an active customer (last deal or contact {day}, {months} months ago): never alerted": (
        "休眠の判定（本日）：取引中の顧客です（最終の取引・接触 {day}、{months} か月前）。通知しません"
    ),
    "dormancy today: tier {tier} (last deal or contact {day}, {months} months ago)": (
        "休眠の判定（本日）：ランク {tier}（最終の取引・接触 {day}、{months} か月前）"
    ),
    "no match: {reason}": "一致なし：{reason}",
    "address {address}: a private or reserved address, filtered before resolution (no match)": (
        "アドレス {address} はプライベートまたは予約済みのアドレスです。組織を調べる前に除外します（一致なし）"
    ),
    "address {address}: one of our own networks (filters.own_networks), filtered before resolution (no match)": (
        "アドレス {address} は自社のネットワーク（filters.own_networks）です。組織を調べる前に除外します（一致なし）"
    ),
    "{address} is in {network}, learned for account {account}: {entry}": (
        "{address} は {network} の中にあり、取引先 {account} について学んだ記録は次のとおりです。{entry}"
    ),
    "note: the ledger cannot match {count} learned network(s): their account(s) {ids} are not in the "
    "--accounts list (they left the list, or pass the list the ledger was learned with)": (
        "注意：台帳で学んだネットワーク {count} 件は照合できません。取引先 {ids} が --accounts のリストに"
        "ありません（リストから外れたか、台帳を学んだときのリストを渡してください）"
    ),
    "note: the ledger cannot match {count} learned network(s): their account(s) {ids} are not in the "
    "database's account list, which is empty (store the list with `revisit accounts import CSV --db URL`, "
    "or pass --accounts CSV)": (
        "注意：台帳で学んだネットワーク {count} 件は照合できません。データベースの取引先リストが空で、"
        "取引先 {ids} がありません（`revisit accounts import CSV --db URL` でリストを保存するか、"
        "--accounts CSV を渡してください）"
    ),
    "note: the ledger cannot match {count} learned network(s): their account(s) {ids} are not in the "
    "database's account list (they left the list, or pass the current list with --accounts CSV)": (
        "注意：台帳で学んだネットワーク {count} 件は照合できません。取引先 {ids} がデータベースの取引先リストに"
        "ありません（リストから外れたか、--accounts CSV で今のリストを渡してください）"
    ),
    # what a source saw (``Organization.evidence_said``, ``LateAnswer.notes``)
    "{described}; {evidence}": "{described}。根拠：{evidence}",
    "{network} is listed on account {account}": "{network} は取引先 {account} に載っています",
    "{network} is in the ledger for account {account}: {entry}": (
        "{network} は取引先 {account} の台帳にあります（{entry}）"
    ),
    "anonymous network ({flags})": "匿名化ネットワーク（{flags}）",
    "hosting provider": "ホスティング事業者",
    "user type {user_type}": "利用者の種別 {user_type}",
    "connection type {connection}": "接続の種別 {connection}",
    "{named!r} is {provider}, on the access-provider list ({kind})": (
        "「{named}」は接続事業者リストにある {provider} です（{kind}）"
    ),
    "{named} is {provider}, on the access-provider list ({kind})": (
        "{named} は接続事業者リストにある {provider} です（{kind}）"
    ),
    "organisation is the ISP itself{words}{provider}": "組織は ISP そのものです{words}{provider}",
    " ({words})": "（{words}）",
    "; AS{asn} is {provider}": "。AS{asn} は {provider} です",
    "{organization!r} operates its own network (not an access provider by list or name)": (
        "「{organization}」は自社でネットワークを運用しています（リストでも名前でも接続事業者ではありません）"
    ),
    "the autonomous system's operator is a network operator ({words})": (
        "自律システムの運用者は通信事業者です（{words}）"
    ),
    "organisation {organization!r} behind ISP {isp!r}": "組織「{organization}」（ISP「{isp}」経由）",
    "organisation {organization!r}": "組織「{organization}」",
    "only an ISP is named": "ISP の名前しかありません",
    "country {country}": "国 {country}",
    "named only by its autonomous system AS{asn} {name!r}": "自律システム AS{asn}「{name}」の名前しかありません",
    "the name has the word {word!r}": "名前に「{word}」という語があります",
    "the name ends like a network operator's ({word!r})": "名前の語尾が通信事業者のものです（「{word}」）",
    "the name has an ISP pool label ({label!r})": "名前に ISP のプール名のラベルがあります（「{label}」）",
    "the name spells out the address, as ISPs' pool names do": (
        "名前にアドレスがそのまま書かれています（ISP のプール名によくある形です）"
    ),
    "PTR {name}: {domain} is {provider}, an access provider": (
        "PTR {name}: {domain} は接続事業者 {provider} のドメインです"
    ),
    "PTR {name}: {clue}": "PTR {name}。{clue}",
    "PTR {name} (forward-confirmed): registrable domain {domain}": (
        "PTR {name}（正引きで確認済み）：登録可能なドメイン {domain}"
    ),
    "no PTR record": "PTR レコードがありません",
    "no answer within {seconds:g} s": "{seconds:g} 秒以内に答えがありません",
    "DNS failure: {error}": "DNS の失敗：{error}",
    "PTR {name} does not resolve back to the address, so it is not believed": (
        "PTR {name} は正引きでこのアドレスに戻らないため、信用しません"
    ),
    "PTR {name} names no registrable domain": "PTR {name} には登録可能なドメインがありません",
    "RDAP network {network} ({allocation})": "RDAP ネットワーク {network}（{allocation}）",
    "RDAP network {network}": "RDAP ネットワーク {network}",
    "the registrant is {provider}, on the access-provider list ({kind})": (
        "登録者は接続事業者リストにある {provider} です（{kind}）"
    ),
    "allocated to a provider, who hands it out to its customers": (
        "事業者に割り振られ、その利用者に配られるブロックです"
    ),
    "a block larger than /{size}: a provider's, not one company's": (
        "/{size} より大きいブロック：一社ではなく事業者のものです"
    ),
    "registrant {name!r}": "登録者「{name}」",
    "no registrant organisation named": "登録者の組織名がありません",
    "JPNIC whois named no holder": "JPNIC whois に保有者の名前がありません",
    "JPNIC whois: {network} is assigned to {name!r}": "JPNIC whois: {network} は「{name}」に割り当てられています",
    "late resolution failed: {error}": "遅延照会に失敗しました：{error}",
    # a source's terms
    "{title}: {licence} ({url}); sales use {sales_use}": "{title}（{licence}、{url}）。営業での利用：{sales_use}",
    # the attribution page (``revisit sources``)
    "Data sources of this revisit installation": "この revisit が使うデータの出典",
    "  licence: {licence} ({url})": "  ライセンス：{licence}（{url}）",
    "  sales use: {sales_use}": "  営業での利用：{sales_use}",
    "  credit: {credit}": "  クレジット表記：{credit}",
    "  note: {note}": "  注意：{note}",
    "  NOT ACKNOWLEDGED: set resolution.rdap.acknowledge_terms = true once your use complies "
    "with these terms; until then every other command refuses to start": (
        "  未確認：利用がこの条件に沿うことを確かめたら resolution.rdap.acknowledge_terms = true を"
        "設定してください。それまで他のコマンドは起動しません"
    ),
    "Show these credits wherever revisit's results are shown:": (
        "revisit の結果を表示する場所には次のクレジットを表示してください："
    ),
    "No enabled source asks for a credit.": "有効なデータ源にクレジット表記を求めるものはありません。",
    "the file's own documentation": "そのファイル自身の説明",
    "; credit required: {credit!r}": "。クレジット表記が必要：「{credit}」",
    "accounts CSV (networks column)": "取引先 CSV の networks 列",
    "allowed": "可",
    "NOT allowed by its terms": "不可（利用条件で禁止）",
    "unknown: check the terms of whoever made the file": "不明（ファイルの作成元の条件を確認してください）",
    # how an account came into question
    "own network {network}": "取引先自身のネットワーク {network}",
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
        "台帳では {network} が {count} 件の取引先（{ids}）について記録されています。"
        "誤っている方を取り消してください（`revisit ledger revoke`）"
    ),
    "ledger: address is in {network}, learned for the account from {entry}": (
        "台帳で一致。アドレスは {network} の中にあり、この取引先について学んだ記録は次のとおりです。{entry}"
    ),
    # a ledger entry's evidence (``enrichment.ledger.learn``)
    "{what} {source}: {described}": "{what}（{source}、{described}）",
    "{what}: {described}": "{what}（{described}）",
    "form export": "フォーム送信",
    "in {file}": "{file}",
    "{file} line {line}": "{file} の {line} 行目",
    "an address at {domain}": "{domain} のアドレス",
    "account {account}": "取引先 {account}",
    "{evidence}; seen {count} time, first {first}, last {last}, until {until}": (
        "{evidence}。確認 {count} 回、初回 {first}、最終 {last}、有効期限 {until}"
    ),
    "{evidence}; seen {count} times, first {first}, last {last}, until {until}": (
        "{evidence}。確認 {count} 回、初回 {first}、最終 {last}、有効期限 {until}"
    ),
    "no resolver knows this address": "このアドレスに該当する情報源がありません",
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
        "「{name}」と取引先の{method}「{listed}」は、法人格と記号を除き、全角半角・大文字小文字・かなの表記を"
        "そろえると、どちらも「{key}」です"
    ),
    "name {name!r} is the registered English name or reading of {count} accounts ({ids}); none is alerted": (
        "社名「{name}」は {count} 件の取引先（{ids}）の登記英語名またはフリガナに当たるため、どの取引先にも通知しません"
    ),
    "{name!r} and the account's registered {method} {listed!r} are both {key!r} once legal "
    "forms, case and long vowels are set aside": (
        "「{name}」と取引先の登記{method}「{listed}」は、法人格を除き、大文字小文字と長音の表記をそろえると、"
        "どちらも「{key}」です"
    ),
    "{name!r} is {verdict} (the account's {method})": "「{name}」は{verdict}（取引先の{method}）",
    "no account has the organisation's name {name!r} exactly, and the fuzzy match declined: {verdict}": (
        "組織名「{name}」とそのまま一致する取引先はなく、あいまい一致も見送りました：{verdict}"
    ),
    "{name!r} is {verdict} (the account's registered {method}, romanised and folded)": (
        "「{name}」は{verdict}（取引先の登記{method}をローマ字にして表記を揃えたもの）"
    ),
    "no account has the organisation's name {name!r}, and the match with registered "
    "English names and readings declined: {verdict}": (
        "組織名「{name}」の取引先はなく、登記英語名・フリガナとの照合も見送りました：{verdict}"
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
    "maxmind": "MaxMind GeoIP データベース",
    "geolite2": "MaxMind GeoLite データベース",
    "revisit_demo": "revisit デモの IP データベース（IPinfo Lite の形式による架空のレコード）",
    "mmdb": "作成元不明の MaxMind 形式データベース",
    "reverse_dns": "逆引き DNS（PTR 名）",
    "rdap": "地域インターネットレジストリの RDAP/WHOIS（ARIN、APNIC、RIPE NCC、LACNIC、AFRINIC）",
    "rdap+jpnic": "JPNIC WHOIS（APNIC の RDAP 経由）",
}
LICENCES = {
    "account_networks": "自社のデータ",
    "ledger": "自社のデータ。自社の訪問者のログインとフォームのエクスポート",
    "maxmind": "MaxMind 商用ライセンス（End User License Agreement）",
    "revisit_demo": "`revisit demo` が作った架空のデータ（第三者のデータなし）",
    "mmdb": "不明",
    "reverse_dns": "公開された DNS の答え（ライセンスなし）",
    "rdap": "各レジストリの WHOIS/RDAP 利用条件",
    "rdap+jpnic": "JPNIC WHOIS 利用条件",
    "iptoasn": "Open Data Commons PDDL 1.0（パブリックドメイン）",
}
NOTES = {
    "ledger": "自社で得た根拠です。メールアドレスはドメインだけを保存します",
    "maxmind": "MaxMind は広告・マーケティングでの利用について「Do Not Sell」のプライバシー除外を守るよう求めています",
    "geolite2": "データベースの再配布はできません。MaxMind の「Do Not Sell」のプライバシー除外を守ってください",
    "revisit_demo": (
        "組織とネットワークはデモ用の架空のもので、実在の訪問者を指しません。IPinfo のクレジット表記は"
        "本物の IPinfo Lite ファイルに必要なもので、このファイルには要りません"
    ),
    "dbip_lite": "結果を表示・利用するページには db-ip.com へのリンクが必要です",
    "reverse_dns": "問い合わせのたびに訪問者のアドレスが自社の DNS リゾルバーに送られます",
}
SEPARATOR = "。"  # between a source's clues

# said before a note that quotes the registries' own words, which stay as they are
NOTE_LEADS = {"rdap": "各レジストリの条件（原文の引用）：", "rdap+jpnic": "各レジストリの条件（原文の引用）："}

TRANSLATIONS |= KINDS  # a kind said inside a reason ("traffic of an access provider (isp: ...)")

# what a ledger import says (``enrichment.ledger_import.Learned.summary``, ``revisit ledger``)
LEDGER = {
    "{rows:,} sightings: {used:,} used ({networks:,} network(s) of {accounts:,} account(s)), {refused:,} not used": (
        "記録 {rows:,} 件：{used:,} 件を使用（{accounts:,} 社の {networks:,} ネットワーク）、{refused:,} 件は不使用"
    ),
    "  not used, {reason}: {count:,}": "  不使用（{reason}）：{count:,} 件",
    "  not used, {reason}: {count:,} (e.g. {example})": "  不使用（{reason}）：{count:,} 件（例：{example}）",
    "    warning: {detail}": "    注意：{detail}",
    # what a team's command refuses (``BadInput.of`` in cli.py)
    "--workers must be 1 or more": "--workers には 1 以上を指定してください",
    "{address!r} is not an IP address": "「{address}」は IP アドレスではありません",
    "--out {path}: cannot write it ({reason})": "--out {path}：書き込めません（{reason}）",
    "--since {day!r}: expected YYYY-MM-DD": "--since「{day}」：YYYY-MM-DD の形で日付を指定してください",
    "ledger revoke: name a network (CIDR), --account ID, or both": (
        "ledger revoke：ネットワーク（CIDR）か --account ID、またはその両方を指定してください"
    ),
    "{network!r} is not an IP network (CIDR such as 203.0.113.7/32)": (
        "「{network}」は IP ネットワークではありません（203.0.113.7/32 のような CIDR で指定してください）"
    ),
    "no learned network in use matches (see `revisit ledger list --all`)": (
        "該当する使用中の学習済みネットワークはありません（`revisit ledger list --all` で確認できます）"
    ),
    "no accounts: pass --accounts CSV or import a list with `revisit accounts import CSV`": (
        "取引先がありません。--accounts CSV を指定するか、`revisit accounts import CSV` でリストを取り込んでください"
    ),
    # a file that cannot be read (``BadInput.of``: stream.sources, enrichment.accounts)
    "{path}: log file not found": "{path}：ログファイルがありません",
    "{path}: not a regular file": "{path}：通常のファイルではありません",
    "{path}: cannot read ({reason})": "{path}：読めません（{reason}）",
    "{path}: named .gz but not gzip data": "{path}：名前は .gz ですが gzip のデータではありません",
    "{path}: account list not found": "{path}：取引先リストがありません",
    "{path}: cannot read the account list ({reason})": "{path}：取引先リストを読めません（{reason}）",
    "{path}:{line}:1: not valid {encoding} text (try --encoding cp932)": (
        "{path}:{line}:1: {encoding} のテキストとして読めません（--encoding cp932 を試してください）"
    ),
    "{path}:{line}:1: not valid {encoding} text": "{path}:{line}:1: {encoding} のテキストとして読めません",
    # a form export that cannot be read (``enrichment.ledger_import.read_form_export``)
    "{path}: file not found": "{path}：ファイルがありません",
    "{path}: not valid {encoding} text (try --encoding cp932)": (
        "{path}：{encoding} のテキストとして読めません（--encoding cp932 を試してください）"
    ),
    "{path}: not valid {encoding} text": "{path}：{encoding} のテキストとして読めません",
    "{path}:1:1: empty file, expected a header (email, ip, time)": (
        "{path}:1:1: 空のファイルです。見出しの行（email, ip, time）が必要です"
    ),
    "{path}:1:1: no {column} column (one of: {names})": (
        "{path}:1:1: {column} の列がありません（{names} のどれかの名前で）"
    ),
    "expected {expected} fields, found {found}": "項目が {found} 個あります（{expected} 個のはずです）",
    "email: {email!r} is not an e-mail address": "email の「{email}」はメールアドレスではありません",
    "ip: {address!r} is not an IP address": "ip の「{address}」は IP アドレスではありません",
    "time: {time!r} is not a time (ISO 8601 or YYYY/MM/DD HH:MM:SS)": (
        "time の「{time}」は日時ではありません（ISO 8601 か YYYY/MM/DD HH:MM:SS で書いてください）"
    ),
    "{count:,} bad row(s) in {path}; nothing was imported:": (
        "{path} に不正な行が {count:,} 件あります。何も取り込んでいません："
    ),
    "... and {count:,} more": "… ほか {count:,} 件",
    # why a sighting teaches nothing (``enrichment.ledger.REFUSAL_REASONS`` and their details)
    "not_public_address": "公開されていないアドレス",
    "unknown_account": "リストにない取引先 ID",
    "not_an_email": "メールアドレスでない",
    "free_mail": "フリーメール",
    "unknown_domain": "どの取引先にもないドメイン",
    "ambiguous_domain": "複数の取引先にあるドメイン",
    "other_account_network": "他の取引先のネットワーク",
    "{source}: {refusal}": "{source}（{refusal}）",
    "{address} is a {kind} address, filtered before resolution: it can never match": (
        "{address} は{kind}アドレスです。組織を調べる前に除外されるので、照合されることはありません"
    ),
    "documentation (RFC 5737/3849)": "文書用（RFC 5737/3849）の",
    "loopback": "ループバック",
    "link-local": "リンクローカル",
    "multicast": "マルチキャスト",
    "private": "プライベート",
    "reserved": "予約済みの",
    "account id {account!r} is not on the account list": "取引先 ID「{account}」は取引先リストにありません",
    "{email!r} is not an e-mail address": "「{email}」はメールアドレスではありません",
    "{domain} is a free-mail domain: it names a person, not a company": (
        "{domain} はフリーメールのドメインです。会社ではなく個人を指します"
    ),
    "no account has the domain {domain}": "ドメイン {domain} の取引先はありません",
    "{address} is in {network}, a network of account {ids}": (
        "{address} は取引先 {ids} のネットワーク {network} の中にあります"
    ),
    # a listed entry's state (``ListedEntry.state_said``)
    "active": "有効",
    "expired": "期限切れ",
    "revoked {day}": "取り消し済み（{day}）",
    "revoked {day} ({reason})": "取り消し済み（{day}、{reason}）",
    # revisit ledger import / learn
    "  not learned again: {network} for {account} was {state}; revoked entries stay revoked": (
        "  再び学習しません：{network}（{account}）は{state}です。取り消した記録は取り消したままです"
    ),
    "{count:,} sighting counted before, not counted again": "以前に数えた確認 {count:,} 件は数え直していません",
    "{count:,} sightings counted before, not counted again": "以前に数えた確認 {count:,} 件は数え直していません",
    "stored {count:,} ledger entry": "台帳に {count:,} 件を保存しました",
    "stored {count:,} ledger entries": "台帳に {count:,} 件を保存しました",
    # revisit ledger list / revoke
    "{count:,} learned network(s)": "学習したネットワーク {count:,} 件",
    "revoked {count:,} learned network(s)": "学習したネットワーク {count:,} 件を取り消しました",
}
TRANSLATIONS |= LEDGER

# revisit accounts import
ACCOUNT_IMPORT = {
    "{count:,} accounts in {file}, unchanged since the last import: nothing to import": (
        "{file} の取引先 {count:,} 社は前回の取り込みから変わっていません（取り込むものはありません）"
    ),
    "imported {count:,} accounts from {file} ({added:,} added, {changed:,} changed, {gone:,} no longer listed)": (
        "{file} から取引先 {count:,} 社を取り込みました"
        "（追加 {added:,}、変更 {changed:,}、リストから外れた取引先 {gone:,}）"
    ),
    "check the list with `{command}` before a campaign (duplicates, rows without owner)": (
        "キャンペーンの前に `{command}` でリストを確認してください（重複や担当者のない行がわかります）"
    ),
}
TRANSLATIONS |= ACCOUNT_IMPORT

# revisit accounts enrich (what the corporate-number data gave; ``enrichment.houjin``)
HOUJIN = {
    "{rows:,} companies read from {file}: {found:,} of {accounts:,} accounts found ({ways})": (
        "{file} から {rows:,} 社を読み込み、取引先 {accounts:,} 社のうち {found:,} 社が見つかりました（{ways}）"
    ),
    "{count:,} by {way}": "{way}で {count:,} 社",
    "none": "なし",
    "corporate number": "法人番号",
    "name and prefecture": "社名と都道府県",
    "name (the only one)": "社名（同名の法人はほかになし）",
    "  {account}: its name fits {count} companies ({numbers}); add a prefecture or corporate_number column": (
        "  {account}：社名が {count} 社（{numbers}）に当てはまります。"
        "prefecture 列か corporate_number 列を加えてください"
    ),
    "  {account}: {name} is {status} ({date})": "  {account}：{name} は{status}（{date}）",
    "closed": "閉鎖されています",
    "merged": "合併で消滅しています",
}
TRANSLATIONS |= HOUJIN
