"""Timestamps of every log format: offsets, ``log.timezone``, epoch units, and no value that stops a run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from revisit.core.config import JsonFieldNames, LogSettings, Settings
from revisit.core.errors import BadInput
from revisit.core.hit import Malformed, MalformedReason
from revisit.enrichment.classify import HitClassifier
from revisit.enrichment.match import AccountIndex
from revisit.enrichment.resolve import ResolverChain
from revisit.stream.fields import TimestampParser, epoch_to_datetime, zone_named

TOKYO = ZoneInfo("Asia/Tokyo")


def test_a_time_without_offset_is_read_in_log_timezone() -> None:
    # Traefik's JSON ``time`` (the docs' example is 2019-04-26T14:01:20 local) carries no offset
    parser = TimestampParser(TOKYO)
    value = parser.parse("2019-04-26T14:01:20")
    assert value == datetime(2019, 4, 26, 5, 1, 20, tzinfo=UTC)
    assert TimestampParser().parse("2019-04-26T14:01:20") == datetime(2019, 4, 26, 14, 1, 20, tzinfo=UTC)
    # an offset written in the text wins over log.timezone
    assert parser.parse("2019-04-26T14:01:20Z") == datetime(2019, 4, 26, 14, 1, 20, tzinfo=UTC)
    assert parser.parse("26/Apr/2019:14:01:20 +0000") == datetime(2019, 4, 26, 14, 1, 20, tzinfo=UTC)


def test_haproxy_accept_date_has_milliseconds_and_no_offset() -> None:
    parser = TimestampParser(TOKYO)
    assert parser.parse("09/Feb/2009:11:08:13.434") == datetime(2009, 2, 9, 2, 8, 13, 434_000, tzinfo=UTC)
    assert parser.parse("09/Feb/2009:11:08:13.434 +0100") == datetime(2009, 2, 9, 10, 8, 13, 434_000, tzinfo=UTC)


@pytest.mark.parametrize(
    "text, expected",
    [
        # Cloudflare Logpull/Logpush EdgeStartTimestamp in nanoseconds (Cloudflare's documented example)
        ("1545155129696000000", datetime(2018, 12, 18, 17, 45, 29, 696_000, tzinfo=UTC)),
        ("1545155129696000", datetime(2018, 12, 18, 17, 45, 29, 696_000, tzinfo=UTC)),  # microseconds
        ("1545155129696", datetime(2018, 12, 18, 17, 45, 29, 696_000, tzinfo=UTC)),  # milliseconds
        ("1545155129", datetime(2018, 12, 18, 17, 45, 29, tzinfo=UTC)),  # seconds
        ("1545155129.696", datetime(2018, 12, 18, 17, 45, 29, 696_000, tzinfo=UTC)),  # nginx $msec
        ("1545155129.6960001", datetime(2018, 12, 18, 17, 45, 29, 696_000, tzinfo=UTC)),  # Caddy's ts
    ],
)
def test_epoch_numbers_in_every_unit(text: str, expected: datetime) -> None:
    assert TimestampParser(TOKYO).parse(text) == expected
    assert epoch_to_datetime(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "99999999999999999999999999",  # past the year 9999 in any unit: fromtimestamp raised OSError
        "0001-01-01T00:00:00+01:00",  # before year 1 once in UTC
        "9999-12-31T23:59:59-01:00",  # after 9999 once in UTC
        "31/Foo/2015:04:11:25 +0100",
        "10/Oct/2000:13:55:36 -07xx",
        "10/Oct/2000:13:55:60 -0700",  # no leap second in the minute's seconds
        "10/Oct/2000:13:55:-1 -0700",
        "",
        "-",
        "1e9",
        "NaN",
    ],
)
def test_impossible_values_are_misses_not_exceptions(text: str) -> None:
    assert TimestampParser(TOKYO).parse(text) is None


def test_every_second_of_a_clf_minute_is_read_as_itself() -> None:
    parser = TimestampParser()
    pacific = timezone(timedelta(hours=-7))
    for second in range(60):
        expected = datetime(2000, 10, 10, 13, 55, second, tzinfo=pacific)
        assert parser.parse(f"10/Oct/2000:13:55:{second:02d} -0700") == expected
    assert parser.parse("10/Oct/2000:13:55: 7 -0700") == datetime(2000, 10, 10, 13, 55, 7, tzinfo=pacific)


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.text(max_size=40),
        st.integers(min_value=0, max_value=10**30).map(str),
        st.from_regex(r"\d{1,25}\.\d{0,12}", fullmatch=True),
        st.from_regex(r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d(\.\d{1,4})?( [+-]\d{4})?", fullmatch=True),
        st.from_regex(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)?", fullmatch=True),
        st.datetimes(timezones=st.sampled_from([UTC, TOKYO, None])).map(datetime.isoformat),
    )
)
def test_no_timestamp_text_raises(text: str) -> None:
    value = TimestampParser(TOKYO).parse(text)
    assert value is None or (value.tzinfo is not None and value.utcoffset() is not None)


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=datetime(1974, 1, 1), max_value=datetime(5000, 1, 1)))
def test_epoch_units_round_trip(moment: datetime) -> None:
    moment = moment.replace(tzinfo=UTC)
    micros = (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    parser = TimestampParser()
    assert parser.parse(str(micros * 1000)) == moment
    assert parser.parse(str(micros)) == moment
    assert parser.parse(str(micros // 1000)) == moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def test_unknown_timezone_is_a_clear_error() -> None:
    assert zone_named("Asia/Tokyo") == TOKYO
    with pytest.raises(BadInput, match="log.timezone: 'Asia/Tokio'"):
        zone_named("Asia/Tokio")


def test_a_nanosecond_json_line_is_classified_not_a_traceback() -> None:
    """The issue's Cloudflare line stopped replay with OSError; now it is parsed in the right zone."""
    names = JsonFieldNames(client_ip="ClientIP", timestamp="EdgeStartTimestamp", path="ClientRequestURI")
    settings_ = Settings(log=LogSettings(format="json", json_fields=names, timezone="Asia/Tokyo"))
    classifier = HitClassifier(settings_, AccountIndex(()), ResolverChain(()))
    line = '{"ClientIP": "8.8.8.8", "EdgeStartTimestamp": %d, "ClientRequestURI": "/"}'
    assert not isinstance(classifier.classify(line % 1545155129696000000), Malformed)
    assert classifier.classify(line % 10**25) == Malformed(MalformedReason.BAD_TIMESTAMP)
