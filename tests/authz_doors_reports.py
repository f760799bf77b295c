"""The authorization matrix's doors of issue 16 that name a layer or a feature: filing a report on it, the
moderation queue, every moderation action (answer, resolve with the fixing version), a report's photo and status
page. The catalog's thumbnail and the sheet PDF are doors of tests/authz_doors.py; the sheet for each sheet layer
restricted, its verification and re-issue are in tests/portal/test_sheet_authz.py.

Who moderates (layers/permissions.py can_moderate_reports): data administrators, and the layer's editors within
their grant's area. Anyone else is answered exactly as for a report that does not exist, and nothing changes.
"""
import json
import re

from django.contrib.gis.geos import Point
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import override_settings

from portal import codes as report_codes
from portal.report_models import Report, ReportModeration, Status
from tests import authz_matrix as m
from tests.authz_doors import Cell, check, send

LIMITS = {"GISPORTAL_REPORTS_PER_IP": 100_000, "GISPORTAL_REPORTS_PER_DEVICE": 100_000}
QUEUE = "/phan-anh/quan-ly/"
_CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"')


def _moderates(cell: Cell, where: str) -> bool:
    return cell.role in m.DATA_ADMINS or cell.role == "editor" or (cell.role == "area_editor" and where == "in")


def _contact(cell: Cell, where: str) -> str:
    return f"09{cell.state.key}{where}Mxcontact"


def _text(cell: Cell, where: str) -> str:
    return f"Mxreport{cell.state.key}{where}"


def _report(cell: Cell, where: str, **extra) -> Report:
    """A report on the state's feature at `where` (in this cell's transaction), as filed while the layer was public."""
    lon, lat = m.SPOTS[where] + 0.00025, m.LAT + 0.00025
    return Report.objects.create(
        code=report_codes.new_code(), target_kind="feature", layer=cell.sw.layer, feature_id=cell.id(where),
        moderation_layer=cell.sw.layer, point=Point(lon, lat, srid=4326), ward_code="26794", ward_name="Mx ward",
        category="other", text=_text(cell, where), contact=_contact(cell, where), **extra)


def _missing_code() -> str:
    while True:
        code = report_codes.new_code()
        if not Report.objects.filter(code=code).exists():
            return code


def _refused_like_missing(cell: Cell, response, path: str, code: str, body=None) -> None:
    """A 404 with vi/en, and the same answer (the codes aside) as for a report code that does not exist."""
    data = check(cell, response, 404)
    missing = _missing_code()
    other = send(cell.client, "POST-FORM" if body is not None else "GET", path.replace(code, missing), body)
    assert other.status_code == 404, f"{cell.name}: a missing report answers {other.status_code}"
    def strip(raw: bytes, c: str) -> bytes:  # the codes, and the CSRF token (masked anew on every answer)
        raw = raw.replace(c.encode(), b"CODE").replace(report_codes.display(c).encode(), b"CODE")
        return _CSRF.sub(b"", raw)

    assert strip(data, code) == strip(m.body_bytes(other), missing), \
        f"{cell.name}: {data[:400]!r} differs from a missing report's {m.body_bytes(other)[:400]!r}"


# ---- filing ----------------------------------------------------------------------------------------------

def door_report_file(cell: Cell) -> None:
    """POST /api/reports on the state's feature: a restricted layer (whoever asks: the status page is public) is
    answered exactly as a missing layer, and nothing is stored; a public one is not refused as unknown."""
    body = {"category": "other", "text": "Ranh giới thửa sai Mxfile", "layer": cell.slug, "feature": cell.id("in")}
    before = Report.objects.count()
    with override_settings(**LIMITS):
        response = send(cell.client, "POST", "/api/reports", body)
        ghost = send(cell.client, "POST", "/api/reports", {**body, "layer": "mx-no-such-layer"})
    data = m.body_bytes(response)
    if cell.state.public:
        assert response.status_code in (201, 400), f"{cell.name}: {response.status_code} {data[:300]!r}"
        assert response.status_code == 201 or json.loads(data) != json.loads(m.body_bytes(ghost)), \
            f"{cell.name}: a public feature refused as unknown: {data[:300]!r}"
        return
    check(cell, response, 400, hides=[m.name_token(cell.state), m.title_token(cell.state)])
    assert json.loads(data) == json.loads(m.body_bytes(ghost)), f"{cell.name}: {data!r} differs from a missing layer's"
    assert Report.objects.count() == before, f"{cell.name}: a refused report was stored"


# ---- moderation ------------------------------------------------------------------------------------------

def door_report_queue(cell: Cell) -> None:
    """The queue lists the reports the role moderates (in its area), with contacts only under a personal grant."""
    reports = {where: _report(cell, where) for where in ("in", "out")}
    response = send(cell.client, "GET", QUEUE)
    if cell.role == "anonymous":
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], f"{cell.name}: {response}"
        return
    shows, hides = [], []
    for where, report in reports.items():
        listed = _moderates(cell, where)
        (shows if listed else hides).append(report.code)
        (shows if listed else hides).append(_text(cell, where))
        (shows if listed and cell.role in m.DATA_ADMINS else hides).append(_contact(cell, where))
    check(cell, response, 200, shows=shows, hides=hides)
    cache = response.get("Cache-Control", "")
    assert "no-store" in cache and "private" in cache, f"{cell.name}: the queue's Cache-Control {cache!r}"


def _moderate(cell: Cell, where: str, body: dict) -> None:
    report = _report(cell, where)
    path = f"{QUEUE}{report.code}/"
    response = send(cell.client, "POST-FORM", path, body)
    if cell.role == "anonymous":
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], f"{cell.name}: {response}"
    elif _moderates(cell, where):
        assert response.status_code == 302 and response["Location"].endswith(f"#r-{report.code}"), \
            f"{cell.name}: {response.status_code} {m.body_bytes(response)[:300]!r}"
        report.refresh_from_db()
        assert report.status == body["status"] and report.moderations.count() == 1, f"{cell.name}: {report.status}"
        return
    else:
        _refused_like_missing(cell, response, path, report.code, body)
    report.refresh_from_db()
    assert report.status == Status.RECEIVED and not report.answer and report.fixed_version is None, \
        f"{cell.name}: a refused moderation changed the report"
    assert not ReportModeration.objects.filter(report=report).exists(), f"{cell.name}: a refused moderation recorded"


def door_report_answer(cell: Cell) -> None:
    for where in ("in", "out"):
        _moderate(cell, where, {"status": "answered", "answer": "Đã kiểm tra Mxanswer", "text_public": "1"})


def door_report_resolve(cell: Cell) -> None:
    """Resolving names the fixing edit: version 1 of each feature exists (the one inside was renamed: 2 too)."""
    for where, version in (("in", "2"), ("out", "1")):
        _moderate(cell, where, {"status": "resolved", "answer": "", "fixed_version": version})


def door_report_reject(cell: Cell) -> None:
    for where in ("in", "out"):
        _moderate(cell, where, {"status": "rejected", "answer": "Không đúng"})


def door_report_fix_link(cell: Cell) -> None:
    """Only a version of the feature that exists: version 9 does not (400, nothing changed); another layer's
    feature only on a layer the moderator sees (else as a missing layer)."""
    if not _moderates(cell, "in") or cell.role == "anonymous":
        return
    for body in ({"status": "resolved", "fixed_version": "9"},
                 {"status": "resolved", "fixed_version": "1", "fixed_feature": str(cell.id("in") + 10_000_000)},
                 {"status": "resolved", "fixed_version": "1", "fixed_layer": "mx-no-such-layer"}):
        report = _report(cell, "in")
        response = send(cell.client, "POST-FORM", f"{QUEUE}{report.code}/", body)
        assert response.status_code in (400, 404), f"{cell.name}: {body} {response.status_code}"
        check(cell, response, response.status_code)
        report.refresh_from_db()
        assert report.status == Status.RECEIVED and report.fixed_version is None, f"{cell.name}: {body} stored"


def door_report_status(cell: Cell) -> None:
    """The public status page and its JSON: never the contact, never the moderator, the text only once published,
    a restricted layer never named."""
    report = _report(cell, "in", status=Status.ANSWERED, answer="Mxpublicanswer")
    ReportModeration.objects.create(report=report, by=cell.world.historian, status=Status.ANSWERED, answer="x")
    hides = [_contact(cell, "in"), _text(cell, "in"), m.HISTORIAN]
    if not cell.state.public:
        hides += [cell.slug]
    for path in (f"/phan-anh/{report.code}/", f"/api/reports/{report.code}", "/api/reports/stats", "/phan-anh/thong-ke/"):
        response = send(cell.client, "GET", path)
        check(cell, response, 200, hides=hides, shows=["Mxpublicanswer"] if report.code in path else [])


def door_report_photo(cell: Cell) -> None:
    """An unpublished report's photo: only to its moderators; to anyone else exactly as a missing report."""
    for where in ("in", "out"):
        report = _report(cell, where)
        report.photo = default_storage.save(f"reports/mx-{report.code}.jpg", ContentFile(b"\xff\xd8Mxphoto\xff\xd9"))
        report.save(update_fields=["photo"])
        path = f"/phan-anh/{report.code}/anh.jpg"
        try:
            response = send(cell.client, "GET", path)
            if _moderates(cell, where):
                assert response.status_code == 200 and b"Mxphoto" in m.body_bytes(response), f"{cell.name}: {response}"
            else:
                _refused_like_missing(cell, response, path, report.code)
        finally:
            default_storage.delete(report.photo)
