"""Template filters that memoize: the text must be what the uncached call gives, for every date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import jinja2
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import Markup

from ripple.site import templates

FORMATS = ["%Y-%m-%d", "%d %b %Y %H:%M %Z", "%H:%M:%S %z"]
ZONES = [UTC, timezone(timedelta(hours=2)), timezone(timedelta(0), "Z0"), ZoneInfo("Europe/Berlin"), None]


def test_the_same_instant_in_two_zones_formats_as_each_zone() -> None:
    utc = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    berlin = utc.astimezone(ZoneInfo("Europe/Berlin"))
    named = utc.replace(tzinfo=timezone(timedelta(0), "Z0"))
    assert utc == berlin == named  # equal instants: a memo keyed by the datetime alone would mix them
    for dt in (utc, berlin, named, utc, berlin):
        for fmt in FORMATS:
            assert templates._date(dt, fmt) == dt.strftime(fmt)
        assert templates._rfc822(dt) == dt.strftime("%a, %d %b %Y %H:%M:%S %z")


def test_an_ambiguous_hour_formats_by_its_fold() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    first = datetime(2026, 10, 25, 2, 30, tzinfo=berlin)  # clocks go back at 03:00: 02:30 twice
    second = first.replace(fold=1)
    assert templates._rfc822(first).endswith("+0200")
    assert templates._rfc822(second).endswith("+0100")


@given(
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2099, 1, 1)),
    st.sampled_from(ZONES),
    st.booleans(),
    st.sampled_from(FORMATS),
)
def test_memoized_date_text_is_strftime(naive: datetime, zone, fold: bool, fmt: str) -> None:
    dt = naive.replace(tzinfo=zone, fold=int(fold))
    assert templates._date(dt, fmt) == dt.strftime(fmt)
    assert templates._date(dt, fmt) == dt.strftime(fmt)  # from the memo


class _Html:
    def __html__(self) -> str:
        return "<u>html</u>"


class _Sub(Markup):
    pass


def test_printed_values_are_escaped_as_jinja_does(tmp_path) -> None:
    """Layouts print through Templates' own code generator (Markup passed on, not copied): the text
    must be Jinja's own for every kind of value, in autoescaped and plain blocks alike."""
    text = "{{ v }}|{{ v|upper }}|{% autoescape false %}{{ v }}{% endautoescape %}|{{ missing }}"
    (tmp_path / "t.html").write_text(text)
    ours = templates.Templates({"t.html": tmp_path / "t.html"}, {}, None, None).env.get_template("t.html")
    plain = jinja2.Environment(autoescape=True).from_string(text)
    for v in ["<b>&</b>", Markup("<i>x</i>"), _Sub("<s>"), _Html(), 3, 2.5, None, True, "", Markup("")]:
        assert ours.render(v=v) == plain.render(v=v), v
