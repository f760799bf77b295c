"""Harvest services: register, remove and run sources; which are due. Every door (admin, `manage.py harvest`,
the scheduled job) calls these."""
from __future__ import annotations

import datetime as dt
import logging
import re

from django.db import IntegrityError, transaction
from django.utils import timezone

from ingest.models import IngestRun
from layers.models import Layer
from layers.errors import DomainError, InvalidParameter
from opendata import harvest_arcgis, harvest_ogcapi, harvest_wfs, outbound
from opendata.harvest_apply import apply, check_target
from opendata.harvest_models import HarvestRun, HarvestSource
from opendata.harvest_read import Harvested

log = logging.getLogger(__name__)
READERS = {"ogcapi": harvest_ogcapi.read, "wfs": harvest_wfs.read, "arcgis": harvest_arcgis.read}
DEFAULT_KEYS = {"ogcapi": "id", "wfs": "gml_id", "arcgis": ""}  # arcgis: the layer's objectIdField
MIN_EVERY = dt.timedelta(minutes=5)
MAX_EVERY = dt.timedelta(days=366)
_EVERY = re.compile(r"([0-9]{1,6})([mhd])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def parse_every(text: str | None) -> dt.timedelta | None:
    """'15m', '1h', '1d' → a duration of at least 5 minutes; blank → None (by hand only)."""
    value = (text or "").strip().lower()
    if not value:
        return None
    match = _EVERY.fullmatch(value)
    every = dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))}) if match else None
    return _bounded(every)


def _bounded(every: dt.timedelta | None) -> dt.timedelta:
    if every is None or not MIN_EVERY <= every <= MAX_EVERY:
        raise InvalidParameter("Lịch thu thập phải như 15m, 1h, 1d (ít nhất 5 phút, nhiều nhất 366 ngày).",
                               "The schedule must look like 15m, 1h or 1d (at least 5 minutes, at most 366 days).",
                               parameter="every")
    return every


def _check(*, kind: str, layer_slug: str, key_field: str, remote_layer: str) -> None:
    if kind not in READERS:
        raise InvalidParameter(f"Loại nguồn không hợp lệ: {kind[:20]} (ogcapi, wfs, arcgis).",
                               f"Unknown source kind {kind[:20]}; use ogcapi, wfs or arcgis.", parameter="kind")
    if not _SLUG.fullmatch(layer_slug or ""):
        raise InvalidParameter("Mã lớp chỉ gồm chữ thường không dấu, số, - và _ (tối đa 64 ký tự).",
                               "A layer slug is lowercase ASCII letters, digits, - and _ (at most 64).", parameter="layer")
    if key_field and not _FIELD.fullmatch(key_field):
        raise InvalidParameter("Tên trường khóa không hợp lệ (chữ, số, _; tối đa 63 ký tự).",
                               "Not a valid key field name (letters, digits, _; at most 63).", parameter="key")
    if len(remote_layer) > 200 or any(ord(c) < 0x20 for c in remote_layer):
        raise InvalidParameter("Tên lớp nguồn không hợp lệ.", "Not a valid remote layer name.", parameter="remote_layer")


def _check_every(every: str | dt.timedelta | None) -> dt.timedelta | None:
    return _bounded(every) if isinstance(every, dt.timedelta) else parse_every(every)


def check_source(*, url: str, kind: str, layer_slug: str, remote_layer: str = "", key_field: str = "",
                 every: str | dt.timedelta | None = None) -> dt.timedelta | None:
    """Every check a source passes before it is saved (fields, outbound allow-list, schedule); its interval."""
    _check(kind=kind, layer_slug=layer_slug, key_field=key_field, remote_layer=remote_layer)
    outbound.check_url(url, outbound.harvest_policy())
    if key_field or DEFAULT_KEYS[kind]:  # ArcGIS's key is known only from the server: harvest_apply checks then
        check_target(Layer.objects.filter(slug=layer_slug).first(), key_field or DEFAULT_KEYS[kind])
    return _check_every(every)


def source_add(*, url: str, kind: str, layer_slug: str, remote_layer: str = "", key_field: str = "",
               every: str | dt.timedelta | None = None, active: bool = True) -> HarvestSource:
    """Registers a source for a layer (one per layer); the URL must pass the outbound check (GISPORTAL_HARVEST_HOSTS)."""
    interval = check_source(url=url, kind=kind, layer_slug=layer_slug, remote_layer=remote_layer,
                            key_field=key_field, every=every)
    try:
        with transaction.atomic():
            return HarvestSource.objects.create(
                url=url, kind=kind, layer_slug=layer_slug, remote_layer=remote_layer,
                key_field=key_field or DEFAULT_KEYS[kind], every=interval, active=active,
                next_run_at=timezone.now() if interval else None)
    except IntegrityError:
        raise InvalidParameter(f"Lớp {layer_slug} đã có nguồn thu thập; xóa nguồn cũ trước.",
                               f"Layer {layer_slug} already has a harvest source; remove it first.",
                               parameter="layer") from None


def source_get(*, layer_slug: str) -> HarvestSource:
    source = HarvestSource.objects.filter(layer_slug=layer_slug).first()
    if source is None:
        raise InvalidParameter(f"Không có nguồn thu thập cho lớp {layer_slug[:64]}.",
                               f"No harvest source for layer {layer_slug[:64]}.", parameter="layer")
    return source


def source_remove(*, layer_slug: str) -> None:
    """Forgets the source and its run log (the layer and its history stay)."""
    source_get(layer_slug=layer_slug).delete()


def due_source_ids(*, now: dt.datetime | None = None) -> list[int]:
    """Active scheduled sources whose next run time has come."""
    now = now or timezone.now()
    return list(HarvestSource.objects.filter(active=True, every__isnull=False, next_run_at__lte=now)
                .order_by("next_run_at").values_list("id", flat=True))


def _read(source: HarvestSource) -> Harvested:
    return READERS[source.kind](url=source.url, remote_layer=source.remote_layer, key=source.key_field)


def _finish(source: HarvestSource, run: HarvestRun, status: str, error: dict | None = None) -> HarvestRun:
    now = timezone.now()
    run.status, run.finished_at, run.error = status, now, error or {}
    run.save()
    source.last_run_at, source.last_status = now, status
    source.last_error = f"{error['vi']} / {error['en']}"[:2000] if error else ""
    source.next_run_at = now + source.every if source.every else None
    if run.ingest_run_id:
        source.last_ingest_run_id = run.ingest_run_id
    source.save(update_fields=["last_run_at", "last_status", "last_error", "next_run_at", "last_ingest_run"])
    return run


def harvest_run(*, source: HarvestSource, user=None) -> HarvestRun:
    """Reads the source and applies its differences as one ingest run (by `user`, whose right to load the layer
    is checked as an ingest's; None: the schedule or the command line); a failure is recorded (with its reason) and
    leaves the layer untouched; no difference records "unchanged" and writes nothing."""
    run = HarvestRun.objects.create(source=source)
    try:
        harvested = _read(source)
        run.read_count = len(harvested.rows)
        ingest_run = apply(harvested=harvested, layer_slug=source.layer_slug, user=user)
    except DomainError as error:
        failed = IngestRun.objects.filter(layer_slug=source.layer_slug, status=IngestRun.Status.FAILED,
                                          started_at__gte=run.started_at).order_by("-id").first()
        run.ingest_run = failed
        return _finish(source, run, HarvestRun.Status.FAILED, {"vi": error.message_vi, "en": error.message_en})
    except Exception as error:  # a reader's or GDAL's surprise: recorded, never a half-applied layer
        log.exception("harvest of %s failed", source.layer_slug)
        return _finish(source, run, HarvestRun.Status.FAILED,
                       {"vi": f"Lỗi khi thu thập; lớp giữ nguyên. {str(error)[:300]}",
                        "en": f"The harvest failed; the layer is unchanged. {str(error)[:300]}"})
    report = ingest_run.report or {}
    run.inserted = report.get("inserted", ingest_run.loaded_count if ingest_run.mode == "create" else 0)
    run.updated, run.deleted = report.get("updated", 0), report.get("deleted", 0)
    if ingest_run.mode != "create" and not (run.inserted or run.updated or run.deleted):
        ingest_run.delete()  # nothing written: no empty run in the layer's history
        return _finish(source, run, HarvestRun.Status.UNCHANGED)
    run.ingest_run = ingest_run
    return _finish(source, run, HarvestRun.Status.SUCCEEDED)


def describe(run: HarvestRun) -> str:
    """One line for people: what a harvest run did (English after Vietnamese)."""
    if run.status == HarvestRun.Status.FAILED:
        return f"thất bại / failed: {run.error.get('vi', '')} / {run.error.get('en', '')}"
    if run.status == HarvestRun.Status.UNCHANGED:
        return f"không thay đổi / no change ({run.read_count} đối tượng / features read)"
    return (f"đã nạp / loaded: đọc/read {run.read_count}, thêm/inserted {run.inserted}, sửa/updated {run.updated}, "
            f"xóa/deleted {run.deleted} (ingest run {run.ingest_run_id})")
