"""Call times as 110 exports, Excel and the API write them: every spelling a generator writes
reads back to the same instant; the ambiguous and the impossible are refused."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.call_times import AMBIGUOUS, INVALID, NO_TIME, TimeError, parse_call_time

TZ = "Asia/Shanghai"
ZONE = ZoneInfo(TZ)


@pytest.mark.parametrize(
    "text, local",
    [
        ("2026/11/27 9:27", (2026, 11, 27, 9, 27)),  # Excel's own way: no padding, no seconds
        ("2026-11-30 8:05", (2026, 11, 30, 8, 5)),
        ("2026-1-5 08:05:09", (2026, 1, 5, 8, 5, 9)),
        ("2026.11.27 09:27", (2026, 11, 27, 9, 27)),
        ("2026年11月27日 9:27", (2026, 11, 27, 9, 27)),
        ("2026年11月27日9时27分", (2026, 11, 27, 9, 27)),
        ("2026年11月27日 09时27分30秒", (2026, 11, 27, 9, 27, 30)),
        ("2026-11-27T09:27:30", (2026, 11, 27, 9, 27, 30)),
        ("2026/11/27 下午 3:27", (2026, 11, 27, 15, 27)),
        ("2026/11/27 上午12:05", (2026, 11, 27, 0, 5)),
        ("2026/11/27 3:27 PM", (2026, 11, 27, 15, 27)),
        ("２０２６/１１/２７ ９:２７", (2026, 11, 27, 9, 27)),  # full-width digits
        ("46353.39375", (2026, 11, 27, 9, 27)),  # an Excel serial date number
        ("46353", (2026, 11, 27, 0, 0)),
    ],
)
def test_ordinary_spellings_are_read_in_the_stations_zone(text, local):
    assert parse_call_time(text, TZ) == datetime(*local, tzinfo=ZONE).astimezone(timezone.utc)


@pytest.mark.parametrize(
    "text, utc",
    [
        ("2026-11-27T09:27:00+08:00", (2026, 11, 27, 1, 27)),
        ("2026-11-27T01:27:00Z", (2026, 11, 27, 1, 27)),
        ("2026-11-27 09:27:00.250+0800", (2026, 11, 27, 1, 27, 0, 250000)),
        ("2026-11-26T20:27-05:00", (2026, 11, 27, 1, 27)),
    ],
)
def test_an_offset_names_the_instant_itself(text, utc):
    assert parse_call_time(text, TZ) == datetime(*utc, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "text, message",
    [
        ("03/04/2026", AMBIGUOUS),
        ("03/04/2026 10:00", AMBIGUOUS),
        ("27/11/2026 9:27", AMBIGUOUS),
        ("26/11/27 9:27", AMBIGUOUS),
        ("2026/11/27", NO_TIME),
        ("2026年11月27日", NO_TIME),
        ("2026-02-30 10:00", INVALID),
        ("2026-13-01 10:00", INVALID),
        ("2026-11-27 24:00", INVALID),
        ("2026-11-27 9:7", INVALID),
        ("2026-11-27 13:00 PM", INVALID),
        ("yesterday", INVALID),
        ("", INVALID),
        ("2026", INVALID),
        ("123", INVALID),
        ("2026-11-27 09:27+15:00", INVALID),
    ],
)
def test_the_ambiguous_and_the_impossible_are_refused(text, message):
    with pytest.raises(TimeError) as refused:
        parse_call_time(text, TZ)
    assert str(refused.value) == message


def _excel_serial(local: datetime) -> str:
    days = (local.replace(tzinfo=None) - datetime(1899, 12, 30)) / timedelta(days=1)
    return repr(days)


def _unpadded(local: datetime, sep: str, time_sep: str, seconds: bool) -> str:
    text = f"{local.year}{sep}{local.month}{sep}{local.day}{time_sep}{local.hour}:{local.minute:02d}"
    return text + (f":{local.second:02d}" if seconds else "")


def _twelve_hour(local: datetime, words: tuple[str, str]) -> str:
    hour = local.hour % 12 or 12
    return f"{local:%Y/%m/%d} {words[local.hour >= 12]}{hour}:{local:%M:%S}"


# Each writer: (text of a local time, whether it keeps the seconds).
WRITERS = {
    "padded dashes": lambda t: (f"{t:%Y-%m-%d %H:%M:%S}", True),
    "padded slashes, no seconds": lambda t: (f"{t:%Y/%m/%d %H:%M}", False),
    "unpadded slashes": lambda t: (_unpadded(t, "/", " ", False), False),
    "unpadded dashes with seconds": lambda t: (_unpadded(t, "-", " ", True), True),
    "dots": lambda t: (_unpadded(t, ".", " ", True), True),
    "T": lambda t: (_unpadded(t, "-", "T", True), True),
    "年月日": lambda t: (f"{t.year}年{t.month}月{t.day}日 {t.hour}:{t:%M:%S}", True),
    "年月日时分秒": lambda t: (f"{t.year}年{t.month}月{t.day}日{t.hour}时{t:%M}分{t:%S}秒", True),
    "上午/下午": lambda t: (_twelve_hour(t, ("上午", "下午")), True),
    "AM/PM": lambda t: (_twelve_hour(t, ("AM ", "PM ")), True),
    "ISO with the station's offset": lambda t: (t.isoformat(), True),
    "Excel serial": lambda t: (_excel_serial(t), True),
}


@settings(max_examples=400, deadline=None, derandomize=True, database=None)
@given(
    local=st.datetimes(min_value=datetime(1992, 1, 1), max_value=datetime(2099, 12, 31)),
    writer=st.sampled_from(sorted(WRITERS)),
    offset_minutes=st.integers(min_value=-12 * 60, max_value=14 * 60),
)
def test_every_spelling_a_generator_writes_reads_back_to_the_same_instant(local, writer, offset_minutes):
    local = local.replace(microsecond=0, tzinfo=ZONE)
    text, keeps_seconds = WRITERS[writer](local)
    expected = local if keeps_seconds else local.replace(second=0)
    assert parse_call_time(text, TZ) == expected.astimezone(timezone.utc), text
    # The same instant written with any other offset.
    shifted = expected.astimezone(timezone(timedelta(minutes=offset_minutes)))
    assert parse_call_time(shifted.isoformat(), TZ) == expected.astimezone(timezone.utc), shifted.isoformat()
