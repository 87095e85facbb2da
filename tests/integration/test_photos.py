"""Photos on the forms that take one (resident report, field logs, patrol observations): the
pixel limit read from the header before anything is decoded, decoding in a worker thread under
a bounded limiter, and no decoding for a post that will not use the photo (over the rate limit,
an edit, a kind of log without photos)."""

from __future__ import annotations

import asyncio
import functools
import uuid

import pytest

from app.domain import photos as photo_rules
from app.services import photos
from app.tables import FieldLog, Photo, Report, ReportPhoto
from tests.conftest import run
from tests.images import png
from tests.integration.test_fieldwork import contact, field, jpeg, place_in  # noqa: F401 (fixture)
from tests.integration.test_reports import form, place_named, poster_code, reports_ready, send  # noqa: F401


@functools.cache
def bomb() -> bytes:
    """47 KB that decode to 7000 × 7000 = 49 million pixels."""
    return png(7000, 7000)


@pytest.fixture
def decodes(monkeypatch) -> list[bool]:
    """One entry per call of the decoder: whether it ran on a thread that runs an event loop."""
    calls: list[bool] = []
    real = photo_rules.process

    def recording(raw: bytes) -> photo_rules.Processed:
        try:
            asyncio.get_running_loop()
            calls.append(True)
        except RuntimeError:
            calls.append(False)
        return real(raw)

    monkeypatch.setattr(photo_rules, "process", recording)
    return calls


def stored_files(settings) -> set:
    return set((settings.upload_dir / "photos").rglob("*"))


def test_a_photo_of_too_many_pixels_is_refused_from_its_header_and_nothing_is_stored(reports_ready, settings):
    code = poster_code(reports_ready, place_named("泰和花园"))
    before = stored_files(settings)
    refused = send(reports_ready, code, form(description="井盖松了", join="new"), photo=bomb())
    assert refused.status_code == 422
    assert "照片超过 4000 万像素" in refused.text and "井盖松了" in refused.text  # the input is kept
    english = send(
        reports_ready,
        code,
        form(join="new"),
        photo=png(100_000, 100_000, complete=False),
        headers={"Accept-Language": "en"},
    )
    assert english.status_code == 422 and "The photo has more than 40 million pixels" in english.text
    assert run(Report.count()) == 0 and run(ReportPhoto.count()) == 0
    assert stored_files(settings) == before


def test_a_field_log_photo_of_too_many_pixels_is_refused_too(field, settings):
    field.sign_in_as("officer")
    data = {
        "client_uuid": str(uuid.uuid4()),
        "place": str(place_in("TH-01")),
        "topic": "drugs",
        "leaflets": "12",
        "reached": "8",
        "note": "学校门口",
    }
    before = stored_files(settings)
    response = field.post("/field/campaign-drops/new", data=data, files={"photo": ("big.png", bomb(), "image/png")})
    assert response.status_code == 422 and "照片超过 4000 万像素" in response.text and "学校门口" in response.text
    assert run(FieldLog.count()) == 0 and run(Photo.count()) == 0 and stored_files(settings) == before


def test_a_report_over_the_rate_limit_is_refused_before_its_photo_is_decoded(reports_ready, settings, decodes):
    code = poster_code(reports_ready, place_named("泰和花园"))
    assert send(reports_ready, code, form(join="new"), photo=jpeg()).status_code == 303
    for i in range(settings.report_burst - 1):  # the rest of the burst, without photos
        assert send(reports_ready, code, form(description=f"第{i}件事", join="new")).status_code == 303
    refused = send(reports_ready, code, form(description="我的文字还在", join="new"), photo=jpeg())
    assert refused.status_code == 429 and "我的文字还在" in refused.text
    assert len(decodes) == 1  # the first post's photo only


def test_photos_are_decoded_off_the_event_loop(reports_ready, decodes):
    code = poster_code(reports_ready, place_named("泰和花园"))
    assert send(reports_ready, code, form(join="new"), photo=jpeg()).status_code == 303
    assert decodes == [False]


def test_decoding_holds_one_of_a_few_places(monkeypatch):
    held = []
    monkeypatch.setattr(photo_rules, "process", lambda raw: held.append(photos.DECODES.borrowed_tokens))
    run(photos.process(jpeg()))
    assert held == [1] and photos.DECODES.total_tokens == 2 and photos.DECODES.borrowed_tokens == 0


def test_posts_that_cannot_use_a_photo_do_not_decode_one(field, decodes):
    field.sign_in_as("officer")
    files = {"photo": ("p.jpg", jpeg(), "image/jpeg")}
    created = field.post("/field/contacts/new", data=contact(place_in("TH-01")), files=files)
    assert created.status_code == 303  # a contact has no photo
    log_id = run(FieldLog.select(FieldLog.id).first())["id"]
    edited = field.post(f"/field/logs/{log_id}/edit", data=contact(place_in("TH-01"), note="改"), files=files)
    assert edited.status_code == 303  # an edit never changes the photo
    assert decodes == [] and run(Photo.count()) == 0


def test_a_general_report_without_a_place_does_not_decode_its_photo(reports_ready, decodes):
    response = reports_ready.post("/report", data=form(), files={"photo": ("p.jpg", jpeg(), "image/jpeg")})
    assert response.status_code == 422 and run(Report.count()) == 0
    assert decodes == []
