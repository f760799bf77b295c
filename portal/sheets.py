"""Issuing planning information sheets, and checking an issued one against the data now.

The rule for restricted layers: a sheet is built from the layers its issuer may see (SHEET_LAYERS only) and
records their slugs. Whoever verifies it later sees the parts from layers they may see; a part from a layer
they may not see is named as withheld, never shown (nor its changes described), and its PDF is re-issued only
to someone who may see every layer it used.
"""
import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from layers import core
from layers.errors import Forbidden, NotFound
from layers.models import Feature, Layer
from layers.selectors import can_view, layers_visible_to
from layers.sheet_facts import SHEET_LAYERS, ParcelGone, SheetFacts, settled_moment, sheet_facts
from portal.sheet_codes import new_code
from portal.sheet_models import IssuedSheet

# Which part of the content belongs to which layer (for withholding) and how a change in it is named.
SECTION_LAYER = {"zones": core.PLANNING_ZONES, "road_reserve_m2": core.ROAD_RESERVES, "current_unit": core.ADMIN_UNITS}
CHANGE_NAMES = {
    "parcel": ("thông tin thửa đất (loại đất, địa chỉ, phiên bản)", "parcel details (land use, address, version)"),
    "area_m2": ("diện tích", "area"),
    "corners": ("tọa độ góc thửa", "corner coordinates"),
    "current_unit": ("đơn vị hành chính hiện nay", "current administrative unit"),
    "neighbours": ("các thửa liền kề", "neighbouring parcels"),
    "zones": ("các ô quy hoạch mà thửa nằm trong và diện tích từng phần", "the planning zones it meets and their areas"),
    "zones.indicators": ("chỉ tiêu quy hoạch (mật độ, tầng cao, hệ số sử dụng đất)", "planning indicators (density, floors, FAR)"),
    "zones.plan": ("đồ án, số và ngày quyết định phê duyệt", "the plan, its decision number and date"),
    "zones.function": ("chức năng sử dụng đất của ô quy hoạch", "the zones' land-use function"),
    "road_reserve_m2": ("diện tích trong lộ giới", "road-reserve area"),
    "data_versions": ("phiên bản dữ liệu", "data versions"),
    "layers": ("các lớp dữ liệu dùng", "layers used"),
    "format": ("mẫu phiếu", "sheet format"),
}


def canonical(content: dict) -> str:
    """The one text a content hashes to: sorted keys, no spaces, UTF-8 characters as they are."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(content: dict) -> str:
    """sha256 of the canonical JSON, hex."""
    return hashlib.sha256(canonical(content).encode("utf-8")).hexdigest()


def sheet_layers(user) -> dict[str, Layer]:
    """The sheet's layers this user may see (the parcels layer among them, else the parcel was not found)."""
    return {layer.slug: layer for layer in layers_visible_to(user).filter(slug__in=SHEET_LAYERS, kind="vector")}


def _layers_by_slug(slugs: list[str]) -> dict[str, Layer]:
    return {layer.slug: layer for layer in Layer.objects.filter(slug__in=slugs)}


def sheet_issue(*, user, parcel: Feature, language: str) -> tuple[IssuedSheet, SheetFacts]:
    """Issues a sheet of the parcel from what the user may see, as of now; stores what it says."""
    at = settled_moment()
    facts = sheet_facts(parcel_id=parcel.pk, layers=sheet_layers(user), at=at)
    p = facts.content["parcel"]
    for _attempt in range(5):  # a random code that is taken: draw another
        try:
            with transaction.atomic():
                sheet = IssuedSheet.objects.create(
                    code=new_code(), feature_id=parcel.pk, ward_code=p.get("ward_code") or "",
                    map_sheet=int(p.get("map_sheet") or 0), parcel_no=int(p.get("parcel_no") or 0), as_of=at,
                    language="en" if language.startswith("en") else "vi", content=facts.content,
                    content_hash=content_hash(facts.content))
            return sheet, facts
        except IntegrityError:
            continue
    raise RuntimeError("no free sheet code after 5 draws")


def sheet_by_code(code: str) -> IssuedSheet:
    """The issued sheet with this (parsed) code; NotFound (404) otherwise."""
    sheet = IssuedSheet.objects.filter(code=code).first()
    if sheet is None:
        raise NotFound("Không có phiếu nào mang mã xác minh này.", "No sheet carries this verification code.")
    return sheet


def sheet_reissue(*, user, sheet: IssuedSheet) -> SheetFacts:
    """The same sheet again, from the history as of its moment (same content hash); only to a user who may see
    every layer it used."""
    layers = _layers_by_slug(sheet.content.get("layers", []))
    if len(layers) != len(sheet.content.get("layers", [])) or not all(can_view(user, lyr) for lyr in layers.values()):
        raise Forbidden("Phiếu này dùng dữ liệu bạn không có quyền xem; không thể cấp lại cho bạn.",
                        "This sheet used data you may not view; it cannot be re-issued to you.")
    return sheet_facts(parcel_id=sheet.feature_id, layers=layers, at=sheet.as_of)


@dataclass
class Verification:
    """What the verification page says about an issued sheet."""

    sheet: IssuedSheet
    intact: bool  # the stored content still hashes to the stored hash
    unchanged: bool  # the data now gives the same content
    changed: list[tuple[str, str]]  # (vi, en) names of the parts that changed, visible ones only
    hidden_changed: bool  # a part the visitor may not see changed
    withheld: list[str]  # slugs of the sheet's layers the visitor may not see
    parcel_gone: bool = False


def sheet_verify(*, user, sheet: IssuedSheet, now: dt.datetime | None = None) -> Verification:
    """Compares the sheet with the same sheet computed from the data now (the sheet's layers, not the visitor's)."""
    slugs = sheet.content.get("layers", [])
    layers = _layers_by_slug(slugs)
    withheld = sorted(s for s in slugs if s not in layers or not can_view(user, layers[s]))
    intact = content_hash(sheet.content) == sheet.content_hash
    if core.PARCELS not in layers:  # the parcels layer itself was removed
        return Verification(sheet, intact, False, [], False, withheld, parcel_gone=True)
    try:
        current = sheet_facts(parcel_id=sheet.feature_id, layers=layers, at=now or settled_moment()).content
    except ParcelGone:
        return Verification(sheet, intact, False, [], False, withheld, parcel_gone=True)
    unchanged = intact and content_hash(current) == sheet.content_hash
    keys = sorted(k for k in set(sheet.content) | set(current) if sheet.content.get(k) != current.get(k))
    before, after = visible_content(sheet.content, withheld), visible_content(current, withheld)
    visible = [k for k in keys if k in before or k in after]
    visible = [k for k in visible if before.get(k) != after.get(k)]
    named = [name for k in visible for name in (_zone_changes(before, after) if k == "zones" else [k])]
    return Verification(sheet, intact, unchanged, [CHANGE_NAMES.get(k, (k, k)) for k in named],
                        len(visible) < len(keys), withheld)


_ZONE_PARTS = {"zones": ("id", "area_m2", "share_pct"), "zones.indicators": ("far", "max_density", "max_floors"),
               "zones.plan": ("plan_name", "decision_no", "decision_date"), "zones.function": ("zone_code", "function")}


def _zone_changes(before: dict, after: dict) -> list[str]:
    """Which kinds of zone facts differ (the zones met, their indicators, their plan), in CHANGE_NAMES' keys."""
    def part(content: dict, fields: tuple[str, ...]) -> list:
        return [[zone.get(f) for f in fields] for zone in content.get("zones") or []]

    return [name for name, fields in _ZONE_PARTS.items() if part(before, fields) != part(after, fields)] or ["zones"]


def visible_content(content: dict, withheld: list[str]) -> dict:
    """The content without the parts (and the data versions) of withheld layers; with the parcels layer withheld,
    nothing but the format and the layers' names."""
    if core.PARCELS in withheld:
        return {k: content[k] for k in ("format", "layers") if k in content}
    shown = {k: v for k, v in content.items() if SECTION_LAYER.get(k) not in withheld}
    if "data_versions" in shown:
        shown["data_versions"] = [v for v in shown["data_versions"] if v.get("slug") not in withheld]
    return shown
