"""Schedule expressions fire when EventBridge would, and bad ones are refused at declaration."""

from __future__ import annotations

import datetime as dt

import pytest

from ripple.dispatch.schedules import parse
from ripple.errors import ValidationError


def ts(*args):
    return dt.datetime(*args, tzinfo=dt.UTC).timestamp()


def fires(expr, start, n):
    s = parse(expr)
    out, t = [], start
    for _ in range(n):
        t = s.next_after(t)
        out.append(dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%d %a %H:%M"))
    return out


def test_rate_counts_from_creation():
    s = parse("rate(5 minutes)", created=1000.0)
    assert s.next_after(1000.0) == 1300.0
    assert s.next_after(1299.0) == 1300.0 and s.next_after(1300.0) == 1600.0
    assert parse("rate(1 hour)").next_after(0) == 3600 and parse("rate(2 days)").next_after(0) == 172800


def test_cron_fields():
    start = ts(2026, 11, 27, 13, 0)
    assert fires("cron(0 12 * * ? *)", start, 2) == ["2026-11-28 Sat 12:00", "2026-11-29 Sun 12:00"]
    assert fires("cron(0/15 * * * ? *)", start, 3) == [
        "2026-11-27 Fri 13:15",
        "2026-11-27 Fri 13:30",
        "2026-11-27 Fri 13:45",
    ]
    assert fires("cron(0 18 ? * MON-FRI *)", start, 3) == [
        "2026-11-27 Fri 18:00",
        "2026-11-30 Mon 18:00",
        "2026-12-01 Tue 18:00",
    ]
    assert fires("cron(0 8 1 * ? *)", start, 2) == ["2026-12-01 Tue 08:00", "2027-01-01 Fri 08:00"]
    assert fires("cron(15 10 ? * 6L 2027)", start, 2) == ["2027-01-29 Fri 10:15", "2027-02-26 Fri 10:15"]
    assert fires("cron(0 0 L * ? *)", start, 2) == ["2026-11-30 Mon 00:00", "2026-12-31 Thu 00:00"]
    assert fires("cron(0 9 ? * 2#1 *)", start, 2) == ["2026-12-07 Mon 09:00", "2027-01-04 Mon 09:00"]
    # 1W: nearest weekday to the 1st; Aug 1 2027 is a Sunday, so Monday the 2nd.
    assert fires("cron(0 9 1W 8 ? 2027)", start, 1) == ["2027-08-02 Mon 09:00"]
    assert fires("cron(30 6 ? JAN,JUL SUN 2027)", start, 2) == ["2027-01-03 Sun 06:30", "2027-01-10 Sun 06:30"]


def test_cron_that_never_fires_again():
    assert parse("cron(0 0 30 2 ? *)").next_after(ts(2026, 1, 1)) is None
    assert parse("cron(0 0 1 1 ? 2020)").next_after(ts(2026, 1, 1)) is None


@pytest.mark.parametrize(
    "expr, needle",
    [
        ("rate(1 minutes)", "singular"),
        ("rate(5 minute)", "singular"),
        ("rate(0 minutes)", "positive"),
        ("rate(5 weeks)", "'weeks'"),
        ("rate(five minutes)", "expected rate"),
        ("every 5 minutes", "expected rate"),
        ("cron(0 12 * * *)", "6 fields"),
        ("cron(0 12 * * * *)", "exactly one"),
        ("cron(0 12 ? * ? *)", "exactly one"),
        ("cron(60 12 * * ? *)", "'60' in the minutes"),
        ("cron(0 24 * * ? *)", "hours"),
        ("cron(0 12 32 * ? *)", "day-of-month"),
        ("cron(0 12 * 13 ? *)", "month"),
        ("cron(0 12 ? * FUNDAY *)", "day-of-week"),
        ("cron(0/0 12 * * ? *)", "step"),
        ("cron(0 12 * * ? 1969)", "year"),
        ("cron(0 5-2 * * ? *)", "backwards"),
        (5, "must be a string"),
    ],
)
def test_bad_expressions(expr, needle):
    with pytest.raises(ValidationError, match=needle):
        parse(expr)
