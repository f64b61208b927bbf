"""EventBridge schedule expressions: ``rate(5 minutes)`` and ``cron(0 12 * * ? *)``, aws-semantics.md §3.4.

Times are UTC with one-minute granularity. ``cron`` has six fields: minutes, hours, day-of-month,
month, day-of-week (1 = SUN), year; exactly one of day-of-month and day-of-week is ``?``. Supported
as AWS documents them: ``,`` ``-`` ``*`` ``/`` everywhere, ``L`` and ``W`` in day-of-month, ``L`` and
``#`` in day-of-week, and month/day names.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from ripple.errors import ValidationError

_RATE = re.compile(r"^rate\(\s*(\d+)\s+([a-z]+)\s*\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}
_DAYS = {d: i + 1 for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}
LAST_YEAR = 2199


class Schedule:
    expression: str

    def next_after(self, t: float) -> float | None:
        """The first firing time strictly after ``t`` (epoch seconds), or None if there is none."""
        raise NotImplementedError


@dataclass(frozen=True)
class Rate(Schedule):
    expression: str
    period_s: int
    anchor: float = 0.0  # rate schedules count from when they were created

    def next_after(self, t: float) -> float:
        if t < self.anchor:
            return self.anchor + self.period_s
        n = int((t - self.anchor) // self.period_s) + 1
        return self.anchor + n * self.period_s


def _field(text: str, lo: int, hi: int, names: dict[str, int] | None, what: str) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) == 0:
                raise ValidationError(f"invalid step {step_text!r} in the {what} field")
            step = int(step_text)
        if part == "*":
            start, end = lo, hi
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = _value(a, lo, hi, names, what), _value(b, lo, hi, names, what)
            if end < start:
                raise ValidationError(f"range {part!r} in the {what} field runs backwards")
        else:
            start = _value(part, lo, hi, names, what)
            end = hi if step > 1 else start
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _value(text: str, lo: int, hi: int, names: dict[str, int] | None, what: str) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    if not text.isdigit() or not lo <= int(text) <= hi:
        raise ValidationError(f"invalid value {text!r} in the {what} field (allowed {lo}-{hi})")
    return int(text)


@dataclass(frozen=True)
class Cron(Schedule):
    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    dom: str  # kept as text: L, W and ? depend on the month
    months: frozenset[int]
    dow: str
    years: frozenset[int]

    def _day_matches(self, d: dt.date) -> bool:
        if d.month not in self.months or d.year not in self.years:
            return False
        last = calendar.monthrange(d.year, d.month)[1]
        if self.dom != "?":
            return _dom_matches(self.dom, d, last)
        return _dow_matches(self.dow, d, last)

    def next_after(self, t: float) -> float | None:
        start = dt.datetime.fromtimestamp(t, dt.UTC).replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
        day = start.date()
        hours, minutes = sorted(self.hours), sorted(self.minutes)
        while day.year <= LAST_YEAR:
            if day.year not in self.years:
                day = dt.date(day.year + 1, 1, 1)
                continue
            if self._day_matches(day):
                for h in hours:
                    for m in minutes:
                        when = dt.datetime(day.year, day.month, day.day, h, m, tzinfo=dt.UTC)
                        if when >= start:
                            return when.timestamp()
            day += dt.timedelta(days=1)
        return None


def _dom_matches(spec: str, d: dt.date, last: int) -> bool:
    for part in spec.split(","):
        if part == "L":
            if d.day == last:
                return True
        elif part.endswith("W"):
            if d.day == _nearest_weekday(d, int(part[:-1]), last):
                return True
        elif d.day in _field(part, 1, 31, None, "day-of-month"):
            return True
    return False


def _nearest_weekday(d: dt.date, target: int, last: int) -> int:
    target = min(target, last)
    wd = dt.date(d.year, d.month, target).weekday()  # Monday = 0
    if wd == 5:  # Saturday → Friday, unless that leaves the month
        return target - 1 if target > 1 else target + 2
    if wd == 6:  # Sunday → Monday, unless that leaves the month
        return target + 1 if target < last else target - 2
    return target


def _dow_matches(spec: str, d: dt.date, last: int) -> bool:
    aws_dow = (d.weekday() + 1) % 7 + 1  # SUN = 1 ... SAT = 7
    for part in spec.split(","):
        if part.endswith("L") and part != "L":
            n = _value(part[:-1], 1, 7, _DAYS, "day-of-week")
            if aws_dow == n and d.day + 7 > last:
                return True
        elif part == "L":
            if aws_dow == 7:
                return True
        elif "#" in part:
            a, b = part.split("#", 1)
            if aws_dow == _value(a, 1, 7, _DAYS, "day-of-week") and (d.day - 1) // 7 + 1 == _value(
                b, 1, 5, None, "day-of-week"
            ):
                return True
        elif aws_dow in _field(part, 1, 7, _DAYS, "day-of-week"):
            return True
    return False


def parse(expression: str, *, created: float = 0.0) -> Schedule:
    """Parse a schedule expression. Raises ValidationError naming what is wrong."""
    if not isinstance(expression, str):
        raise ValidationError(f"schedule must be a string like 'rate(5 minutes)', not {expression!r}")
    text = expression.strip()
    m = _RATE.match(text)
    if m:
        value, unit = int(m.group(1)), m.group(2)
        singular = unit.rstrip("s")
        if singular not in _UNITS:
            raise ValidationError(f"invalid rate unit {unit!r} in {expression!r}: use minute(s), hour(s) or day(s)")
        if value == 0:
            raise ValidationError(f"rate value must be positive in {expression!r}")
        if (value == 1) != (unit == singular):
            raise ValidationError(
                f"invalid rate {expression!r}: the unit is singular for 1 and plural otherwise "
                f"(rate(1 {singular}), rate({max(value, 2)} {singular}s))"
            )
        return Rate(text, value * _UNITS[singular], created)
    m = _CRON.match(text)
    if not m:
        raise ValidationError(f"invalid schedule {expression!r}: expected rate(VALUE UNIT) or cron(6 fields)")
    fields = m.group(1).split()
    if len(fields) != 6:
        raise ValidationError(f"cron expression {expression!r} needs 6 fields, not {len(fields)}")
    mi, hr, dom, mon, dow, yr = fields
    if (dom == "?") == (dow == "?"):
        raise ValidationError(f"in {expression!r} exactly one of day-of-month and day-of-week must be '?'")
    cron = Cron(
        text,
        _field(mi, 0, 59, None, "minutes"),
        _field(hr, 0, 23, None, "hours"),
        dom,
        _field(mon, 1, 12, _MONTHS, "month"),
        dow,
        _field(yr, 1970, LAST_YEAR, None, "year"),
    )
    # Validate the day fields now, so a bad one fails at declaration, not at the first tick.
    probe = dt.date(2024, 1, 1)
    if dom != "?":
        for part in dom.split(","):
            if part != "L" and not part.endswith("W"):
                _field(part, 1, 31, None, "day-of-month")
            elif part.endswith("W") and not (part[:-1].isdigit() and 1 <= int(part[:-1]) <= 31):
                raise ValidationError(f"invalid W value {part!r} in the day-of-month field")
    else:
        _dow_matches(dow, probe, 31)
    return cron
