"""ingest_file: read → CRS → validate/repair → map to schema → COPY to staging → one transaction."""
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from django.db import transaction
from django.utils import timezone

from ingest.crs import decide_crs, total_bounds
from ingest.loader import apply_staging, copy_to_staging, layer_bounds, staging_bounds
from ingest.models import IngestRun
from ingest.readers import read_vector
from layers.errors import DomainError, IngestRejected
from layers.models import Layer
from layers.schemas import validate_properties
from layers.services import features_changed, layer_refresh_stats
from layers.vn2000 import WGS84_SRID, transform_geometries

MODES = ("replace", "append")
# Vietnam's mainland and islands, generously: coordinates outside are refused row by row.
VIETNAM_BOUNDS = (100.0, 6.0, 118.0, 24.5)


@dataclass
class Rejection:
    row: int
    reason_vi: str
    reason_en: str
    field: str | None = None
    value: str | None = None


@dataclass
class Report:
    """What happened to every row: counts, rejections and repairs, and the CRS decision."""

    read: int = 0
    loaded: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    repaired: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    crs_found: str = ""
    crs_used: str = ""

    def as_dict(self) -> dict:
        return {
            "read": self.read, "loaded": self.loaded, "crs_found": self.crs_found, "crs_used": self.crs_used,
            "rejected": [r.__dict__ for r in self.rejected], "repaired": self.repaired, "warnings": self.warnings,
        }


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_geometries(geoms: np.ndarray, report: Report) -> np.ndarray:
    """A mask of usable rows; missing, empty and non-finite geometries are rejected, invalid ones repaired."""
    ok = np.ones(len(geoms), dtype=bool)
    missing = shapely.is_missing(geoms) | shapely.is_empty(np.where(shapely.is_missing(geoms), shapely.Point(), geoms))
    for i in np.flatnonzero(missing):
        report.rejected.append(Rejection(int(i) + 1, "Thiếu hoặc rỗng hình học.", "Missing or empty geometry."))
    ok &= ~missing
    coords_ok = np.array([ok[i] and bool(np.isfinite(shapely.get_coordinates(g)).all()) for i, g in enumerate(geoms)])
    for i in np.flatnonzero(ok & ~coords_ok):
        report.rejected.append(Rejection(int(i) + 1, "Tọa độ NaN hoặc vô hạn.", "NaN or infinite coordinates."))
    ok &= coords_ok
    invalid = ok & ~shapely.is_valid(np.where(ok, geoms, None))
    for i in np.flatnonzero(invalid):
        reason = shapely.is_valid_reason(geoms[i])
        geoms[i] = _repair(geoms[i])
        report.repaired.append({"row": int(i) + 1, "reason": reason, "action": "make_valid"})
    return ok


def _repair(geom):
    """make_valid, keeping only parts of the input's dimension (a polygon stays areal)."""
    fixed = shapely.make_valid(geom)
    dim = shapely.get_dimensions(geom)
    if fixed.geom_type == "GeometryCollection":
        parts = [p for p in shapely.get_parts(fixed) if shapely.get_dimensions(p) == dim]
        fixed = shapely.union_all(parts) if parts else fixed
    return fixed


def _conform_type(geoms: np.ndarray, geometry_type: str) -> np.ndarray:
    """Single vs multi as the layer wants (Polygon layers accept MultiPolygon as stored; Multi* layers promote)."""
    if geometry_type.startswith("Multi"):
        single = shapely.get_type_id(geoms) == {"MultiPoint": 0, "MultiLineString": 1, "MultiPolygon": 3}[geometry_type]
        geoms[single] = [type(_multi(geometry_type))([g]) for g in geoms[single]]
    return geoms


def _multi(geometry_type: str):
    return {"MultiPoint": shapely.MultiPoint, "MultiLineString": shapely.MultiLineString,
            "MultiPolygon": shapely.MultiPolygon}[geometry_type]()


def _outside_vietnam(geoms: np.ndarray, ok: np.ndarray, report: Report) -> np.ndarray:
    west, south, east, north = VIETNAM_BOUNDS
    bounds = shapely.bounds(np.where(ok, geoms, None))
    inside = (bounds[:, 0] >= west) & (bounds[:, 2] <= east) & (bounds[:, 1] >= south) & (bounds[:, 3] <= north)
    for i in np.flatnonzero(ok & ~inside):
        report.rejected.append(Rejection(int(i) + 1, "Tọa độ nằm ngoài Việt Nam.", "Coordinates lie outside Vietnam."))
    return ok & inside


def _json_value(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return None if not math.isfinite(value) else float(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _properties(layer: Layer, records: list[dict], ok: np.ndarray, report: Report) -> list[str | None]:
    """Each row's properties as JSON, checked against the layer's schema (failing rows rejected)."""
    out: list[str | None] = [None] * len(records)
    for i, record in enumerate(records):
        if not ok[i]:
            continue
        clean, errors = validate_properties(layer.schema, {k: _json_value(v) for k, v in record.items()})
        if errors:
            ok[i] = False
            for e in errors:
                report.rejected.append(Rejection(i + 1, e.message_vi, e.message_en, e.field, str(e.value)[:200]))
            continue
        out[i] = json.dumps({k: v for k, v in clean.items() if v is not None}, ensure_ascii=False)
    return out


def _prepare(layer: Layer, path: Path, *, crs: str | None, encoding: str | None, source_layer: str | None,
             column_map: dict[str, str] | None, report: Report) -> list[tuple[int, str, str]]:
    data = read_vector(path, source_layer=source_layer, encoding=encoding)
    geoms = data.geometries.copy()
    report.read = len(geoms)
    if report.read == 0:
        raise IngestRejected("Tệp không có đối tượng nào.", "The file holds no features.", parameter="path")
    ok = _check_geometries(geoms, report)
    decision = decide_crs(data.crs, crs, total_bounds(geoms[ok]) if ok.any() else (0, 0, 0, 0))
    report.crs_found, report.crs_used = decision.found, decision.used
    report.warnings.extend(decision.warnings)
    geoms[ok] = transform_geometries(geoms[ok], decision.crs, WGS84_SRID)
    ok = _outside_vietnam(geoms, ok, report)
    if layer.geometry_type:
        geoms[ok] = _conform_type(geoms[ok], layer.geometry_type)
    attributes = data.attributes.rename(columns=lambda c: (column_map or {}).get(c, c.lower()))
    props = _properties(layer, attributes.to_dict("records"), ok, report)
    rows_ok = np.flatnonzero(ok)
    wkb = shapely.to_wkb(shapely.set_srid(geoms[rows_ok], WGS84_SRID), hex=True, include_srid=True)
    return [(int(i) + 1, w, props[i]) for i, w in zip(rows_ok, wkb)]


def ingest_file(*, path: Path, layer: Layer, mode: str = "replace", crs: str | None = None,
                encoding: str | None = None, source_layer: str | None = None,
                column_map: dict[str, str] | None = None, max_rejects: int = 0, dry_run: bool = False,
                user=None) -> IngestRun:
    """Loads a file into a layer atomically and records the run; IngestRejected leaves the layer as it was."""
    if mode not in MODES:
        raise IngestRejected(f"Chế độ không hợp lệ: {mode}.", f"Unknown mode {mode}; use one of {', '.join(MODES)}.", parameter="mode")
    path = Path(path)
    run = IngestRun.objects.create(layer=layer, layer_slug=layer.slug, user=user if user and user.pk else None,
                                   file_name=path.name, mode=mode)
    report = Report()
    try:
        run.file_sha256 = file_sha256(path) if path.is_file() else ""
        rows = _prepare(layer, path, crs=crs, encoding=encoding, source_layer=source_layer,
                        column_map=column_map, report=report)
        if len(report.rejected) > max_rejects:
            raise IngestRejected(
                f"{len(report.rejected)} dòng bị từ chối, vượt giới hạn {max_rejects}; không có gì thay đổi.",
                f"{len(report.rejected)} rows rejected, more than the limit of {max_rejects}; nothing was changed.",
            )
        if not dry_run:
            with transaction.atomic():
                Layer.objects.select_for_update().get(pk=layer.pk)  # one ingest per layer at a time
                before = layer_bounds(layer.pk) if mode == "replace" else None
                copy_to_staging(rows)
                after = staging_bounds()
                report.loaded = apply_staging(layer.pk, mode, run.user_id)
                features_changed(layer=layer, bounds=[b for b in (before, after) if b])
                layer_refresh_stats(layer=layer)
        run.status = IngestRun.Status.SUCCEEDED
    except DomainError:
        run.status = IngestRun.Status.FAILED
        raise
    finally:
        run.crs_found, run.crs_used = report.crs_found, report.crs_used
        run.read_count, run.loaded_count = report.read, report.loaded
        run.repaired_count, run.rejected_count = len(report.repaired), len(report.rejected)
        run.report = report.as_dict()
        run.finished_at = timezone.now()
        run.save()
    return run
