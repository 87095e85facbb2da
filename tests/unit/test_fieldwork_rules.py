"""The pure rules of field logs: where, when, follow-up dates, counts, parties, the edit window,
and photos (format, size, EXIF)."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta, timezone

import pytest
from PIL import Image

from app.domain import fieldwork as rules
from app.domain.photos import MAX_BYTES, PhotoError, process
from tests.images import png

NOW = datetime(2026, 11, 29, 2, 0, tzinfo=timezone.utc)
TODAY = date(2026, 11, 29)


def world(**extra) -> rules.Rules:
    return rules.Rules(
        places={10: 1, 11: 2},
        grids={1, 2},
        tags={"fraud", "safety"},
        campaign_topics={"drugs"},
        today=TODAY,
        now=NOW,
        **extra,
    )


def contact(**fields) -> dict:
    return {"place": "10", "subject_kind": "resident", **fields}


def test_where_is_a_place_of_the_officers_grids_or_a_whole_grid():
    assert rules.parse_where("10", world()) == rules.Where(grid=1, place=10)
    assert rules.parse_where("grid:2", world()) == rules.Where(grid=2, place=None)
    for outside in ("12", "grid:3", "", "grid:", "ten"):
        assert rules.parse_where(outside, world()) is None
    assert rules.where_value(2, None) == "grid:2" and rules.where_value(1, 10) == "10"


@pytest.mark.parametrize(
    "sent, kept",
    [
        ("2026-11-29T01:59:00Z", True),
        ("2026-11-22T02:00:00+00:00", True),  # exactly 7 days back: a queued log
        ("2026-11-22T01:59:59+00:00", False),  # older than that: the server's time instead
        ("2026-11-29T02:10:00+00:00", True),  # a phone clock 10 minutes fast
        ("2026-11-29T02:10:01+00:00", False),
        ("2026-11-29T09:59:00", False),  # no time zone: not trusted
        ("yesterday", False),
    ],
)
def test_the_phones_time_is_kept_when_plausible(sent, kept):
    when = rules.check("contact", contact(occurred_at=sent), world()).values["occurred_at"]
    assert (when != NOW) == kept


@pytest.mark.parametrize(
    "day, error",
    [
        ("2026-11-29", None),
        ("2026-11-28", "The follow-up date cannot be in the past"),
        ("2027-11-30", None),
        ("2027-12-01", "Choose a date within a year"),
        ("29/11/2026", "Not a date"),
    ],
)
def test_follow_up_dates(day, error):
    assert rules.check("contact", contact(follow_up_on=day), world()).errors.get("follow_up_on") == error


def test_an_edit_may_keep_a_follow_up_date_that_has_passed_but_not_move_it_into_the_past():
    kept = world(kept_follow_up=date(2026, 11, 20))
    assert "follow_up_on" not in rules.check("contact", contact(follow_up_on="2026-11-20"), kept).errors
    assert "follow_up_on" in rules.check("contact", contact(follow_up_on="2026-11-21"), kept).errors


@pytest.mark.parametrize(
    "value, error",
    [
        ("0", None),
        ("100000", None),
        ("100001", "Enter a number from 0 to 100,000"),
        ("-1", "Enter a number from 0 to 100,000"),
        ("1.5", "Enter a whole number"),
        ("", "Required"),
    ],
)
def test_campaign_counts(value, error):
    checked = rules.check(
        "campaign_drop", {"place": "10", "topic": "drugs", "leaflets": value, "reached": "3"}, world()
    )
    assert checked.errors.get("leaflets") == error


def test_tags_must_come_from_the_list_and_are_stored_findable():
    assert rules.check("contact", contact(tags=["fraud", "other"]), world()).errors["tags"] == "Choose from the list"
    checked = rules.check("contact", contact(tags=["fraud", "safety", "fraud"]), world())
    assert checked.values["tags"] == ["fraud", "safety"]
    assert rules.tags_column(["fraud", "safety"]) == ",fraud,safety," and rules.tags_column([]) == ""
    assert rules.tags_list(",fraud,safety,") == ["fraud", "safety"]


def test_a_mediation_needs_two_named_parties_an_account_and_terms_when_agreed():
    raw = {
        "place": "10",
        "dispute_type": "family",
        "outcome": "agreed",
        "party_phone_0": "abc",
        "party_name_1": "钱乙",
        "call_refs": "J1, J2 J1 <script>",
    }
    errors = rules.check("mediation", raw, world()).errors
    assert errors == {
        "party_name_0": "Required",
        "party_phone_0": "Not a phone number",
        "note": "Required",
        "terms": "Required",
        "call_refs": "Call numbers are letters and digits, separated by spaces",
    }
    raw.update(party_name_0="赵甲", party_phone_0="13800000000", note="争吵", terms="和好", call_refs="J1, J2 J1")
    checked = rules.check("mediation", raw, world())
    assert checked.errors == {} and checked.links == ["J1", "J2"] and len(checked.parties) == 2


def test_location_must_be_on_earth():
    assert rules.check("contact", contact(lat="91", lon="118"), world()).errors["location"]
    checked = rules.check("contact", contact(lat="34.2", lon="118.3", accuracy="12"), world())
    assert (checked.values["lat"], checked.values["accuracy"]) == (34.2, 12.0)


def test_the_edit_window():
    created = NOW - rules.EDIT_WINDOW
    assert rules.may_edit(is_author=True, is_supervisor=False, created_at=created, now=NOW)
    assert not rules.may_edit(is_author=True, is_supervisor=False, created_at=created - timedelta(seconds=1), now=NOW)
    assert not rules.may_edit(is_author=False, is_supervisor=False, created_at=NOW, now=NOW)
    assert rules.may_edit(is_author=False, is_supervisor=True, created_at=NOW - timedelta(days=400), now=NOW)


def test_client_uuids_are_normalised_or_refused():
    assert rules.valid_uuid("9F1C4D3A-2B7E-4F5A-8C9D-0E1F2A3B4C5D") == "9f1c4d3a-2b7e-4f5a-8c9d-0e1f2a3b4c5d"
    assert rules.valid_uuid("not-a-uuid") is None and rules.valid_uuid("") is None


def image_bytes(fmt: str, size=(800, 600), exif: bool = False) -> bytes:
    image = Image.new("RGB", size, (10, 20, 30))
    out = io.BytesIO()
    extra = {}
    if exif:
        data = Image.Exif()
        data[0x8825] = {1: "N", 2: (34.0, 1.0, 2.0)}
        data[0x0112] = 6  # rotated: the stored photo must come out upright
        extra["exif"] = data.tobytes()
    image.save(out, fmt, **extra)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_photos_are_reencoded_as_jpeg(fmt):
    photo = process(image_bytes(fmt))
    assert photo.data.startswith(b"\xff\xd8") and (photo.width, photo.height) == (800, 600)
    assert len(photo.sha256) == 64


def test_heic_photos_are_accepted():
    from pillow_heif import from_pillow

    out = io.BytesIO()
    from_pillow(Image.new("RGB", (640, 480), (1, 2, 3))).save(out, format="HEIF")
    assert process(out.getvalue()).width == 640


def test_exif_is_removed_after_turning_the_photo_upright():
    photo = process(image_bytes("JPEG", size=(2000, 1000), exif=True))
    stored = Image.open(io.BytesIO(photo.data))
    assert not stored.getexif()
    assert stored.size == (800, 1600)  # rotated by the orientation tag, then downscaled


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "The photo file is empty"),
        (b"GIF89a" + b"\0" * 100, "This file is not a photo we can read"),
        (b"MZ" + b"\0" * 100, "This file is not a photo we can read"),
        (b"\xff\xd8" + b"\0" * (MAX_BYTES - 1), "The photo is larger than 10 MB"),
        # Refused from the header, before any pixel is decoded: ours just above 40 MP, Pillow's far above.
        pytest.param(png(8000, 5001, complete=False), "The photo has more than 40 million pixels", id="40MP+1"),
        pytest.param(png(100_000, 100_000, complete=False), "The photo has more than 40 million pixels", id="10GP"),
    ],
)
def test_bad_photos_are_refused_with_a_reason(data, message):
    with pytest.raises(PhotoError, match=message):
        process(data)
