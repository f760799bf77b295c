"""ingest_file: read → CRS → validate/repair → map to schema → COPY to staging → one transaction."""
import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
import psycopg2
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ingest import bulk, replay, validate
from ingest.crs import CrsDecision, decide_crs, total_bounds
from ingest.loader import (MOVE_INTO_LAYER, ChunkWriter, abort_when_client_dies, apply_mirror, apply_replace, apply_upsert, create_staging,
                           delete_staged_rows, duplicate_keys, layer_bounds, layer_has_rows, lock_layer)
from ingest.liveness import pause_point, reap_dead_runs, start_run
from ingest.models import IngestRun
from ingest.readers import Source, open_source, read_chunks, read_geometries
from ingest.personal import mark_personal
from ingest.report import Report
from ingest.safety import reject_remote
from ingest.schema_infer import geometry_type_from_data, infer_geometry_type, infer_schema, title_from_file
from ingest.validate import is_text
from ingest.vnencodings import guess_mojibake
from layers.errors import DomainError, IngestRejected
from layers.history import change_context
from layers.loadgate import close_for_load
from layers.models import Layer
from layers.permissions import authorize_load
from layers.services import features_changed, layer_create, layer_refresh_stats
from layers.values import FEATURE_ID, BadValue
from layers.vn2000 import WGS84_SRID, transform_geometries

MODES = ("create", "replace", "append", "upsert", "mirror")
KEYED_MODES = ("upsert", "mirror")
CHUNK_SIZE = settings.INGEST_CHUNK_ROWS
Progress = Callable[[int, int | None], None]


def file_sha256(path: Path) -> str:
    """SHA-256 of a file (or of a folder's files in name order, for a FileGDB)."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        with file.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def _resolve_layer(layer: Layer | str, mode: str) -> tuple[Layer | None, str]:
    """The target layer (None in create mode) and its slug; refuses create on an existing layer and vice versa."""
    slug = layer.slug if isinstance(layer, Layer) else str(layer)
    existing = layer if isinstance(layer, Layer) else Layer.objects.filter(slug=slug).first()
    if mode == "create" and existing is not None:
        raise IngestRejected(f"Lớp {slug} đã tồn tại; dùng --mode replace, append hoặc upsert.",
                             f"Layer {slug} already exists; use --mode replace, append or upsert.", parameter="layer")
    if mode != "create" and existing is None:
        raise IngestRejected(f"Không có lớp {slug}; dùng --mode create để tạo.",
                             f"No layer {slug}; use --mode create to make it.", parameter="layer")
    if existing is not None and existing.kind != "vector":
        raise IngestRejected(f"Lớp {slug} là lớp ảnh.", f"Layer {slug} is a raster layer.", parameter="layer")
    return existing, slug


def _check_options(mode: str, key: str | None) -> None:
    if mode not in MODES:
        raise IngestRejected(f"Chế độ không hợp lệ: {mode}.", f"Unknown mode {mode}; use one of {', '.join(MODES)}.",
                             parameter="mode")
    if mode in KEYED_MODES and not key:
        raise IngestRejected(f"Chế độ {mode} cần --key.", f"{mode.capitalize()} needs --key FIELD.", parameter="key")


class _Pipeline:
    """One ingest's state across chunks."""

    def __init__(self, source: Source, layer: Layer, report: Report, writer: ChunkWriter, *, crs: str | None,
                 column_map: dict[str, str], key: str | None, max_rejects: int):
        self.source, self.layer, self.report, self.writer = source, layer, report, writer
        self.bounds: list[np.ndarray] = []
        self.crs_option, self.column_map, self.key, self.max_rejects = crs, column_map, key, max_rejects
        self.decision: CrsDecision | None = None
        self.is_wgs84 = False
        self.swap_xy: bool | None = None
        self.text_samples: list[str] = []
        self.value_samples: dict[str, list] = {}  # per column, for the personal-data check (ingest/personal.py)
        self.original_names: dict[str, str] = {}

    def columns(self, frame: pd.DataFrame) -> pd.DataFrame:
        renamed = frame.rename(columns=lambda c: self.column_map.get(c, c.lower()))
        if not self.original_names:  # the file's own names ('SoDienThoai'), for the personal-data check
            self.original_names = {str(new): str(old) for old, new in zip(frame.columns, renamed.columns)}
        # A download coming back (edited in QGIS, say) carries the platform's ids: not data, ids are the platform's.
        return renamed.drop(columns=[FEATURE_ID], errors="ignore")

    def crs(self, geoms: np.ndarray, ok: np.ndarray) -> CrsDecision:
        if self.decision is None:
            bounds = total_bounds(geoms[ok]) if ok.any() else (0.0, 0.0, 0.0, 0.0)
            self.decision = decide_crs(self.source.crs, self.crs_option, bounds)
            self.report.crs_found, self.report.crs_used = self.decision.found, self.decision.used
            for warning in self.decision.warnings:
                self.report.warn(warning)
            self.is_wgs84 = self.decision.crs.to_epsg() == WGS84_SRID
        return self.decision

    def chunk(self, offset: int, wkb: np.ndarray, frame: pd.DataFrame) -> int:
        """Validates, repairs and reprojects one chunk and COPYs its good rows to staging; returns rows staged."""
        report = self.report
        report.read += len(wkb)
        geoms = validate.decode(wkb, offset, report)
        ok = validate.check_geometries(geoms, offset, report)
        validate.drop_z(geoms, ok, report)
        decision = self.crs(geoms, ok)
        if self.swap_xy is None:
            self.swap_xy = self._northing_in_x(geoms, ok, decision)
        if self.swap_xy and ok.any():
            geoms[ok] = shapely.transform(geoms[ok], lambda c: c[:, ::-1])
        if ok.any() and not self.is_wgs84:
            geoms[ok] = transform_geometries(geoms[ok], decision.crs, WGS84_SRID)
            ok &= np.isfinite(shapely.bounds(np.where(ok, geoms, None))).all(axis=1)
        validate.inside_vietnam(geoms, ok, offset, report)
        validate.repair_invalid(geoms, ok, offset, report)
        validate.conform_type(geoms, ok, self.layer.geometry_type, offset, report)
        frame = self.columns(frame)
        try:
            validate.check_extra_columns(frame, self.layer.schema, ok, offset, report)
        except BadValue as bad:
            raise IngestRejected(f"{bad.message_vi} Không có gì thay đổi.", f"{bad.message_en} Nothing was changed.") from None
        frame = validate.check_attributes(frame, self.layer.schema, ok, offset, report)
        keys = self._keys(frame, ok, offset) if self.key else None
        self._sample_text(frame)
        self._sample_values(frame)
        if report.rejected_count > self.max_rejects:
            raise self.too_many()
        rows = np.flatnonzero(ok)
        if rows.size:
            self.bounds.append(shapely.total_bounds(geoms[rows]))
        wkb_hex = shapely.to_wkb(shapely.set_srid(geoms[rows], WGS84_SRID), hex=True, include_srid=True)
        props = validate.properties_json(frame.iloc[rows])
        self.writer.submit((rows + offset + 1).tolist(), wkb_hex.tolist(), props,
                           None if keys is None else [keys[i] for i in rows])
        return int(rows.size)

    def loaded_bounds(self) -> tuple[float, float, float, float] | None:
        """The WGS 84 box of every row written (for tile invalidation)."""
        if not self.bounds:
            return None
        b = np.array(self.bounds)
        return (float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max()))

    def _northing_in_x(self, geoms: np.ndarray, ok: np.ndarray, decision: CrsDecision) -> bool:
        """CSV X/Y in a projected CRS where X holds the northing, as Vietnamese surveys write it."""
        if self.source.csv_geometry != "xy" or not decision.crs.is_projected or not ok.any():
            return False
        coords = shapely.get_coordinates(geoms[ok])
        x, y = np.median(coords[:, 0]), np.median(coords[:, 1])
        if 900_000 <= x <= 2_700_000 and 100_000 <= y <= 900_000:
            self.report.warn("X holds northings and Y eastings (the Vietnamese survey convention): axes swapped.")
            return True
        return False

    def _keys(self, frame: pd.DataFrame, ok: np.ndarray, offset: int) -> list[str | None]:
        if self.key not in frame:
            raise IngestRejected(f"Tệp không có trường khóa {self.key}.", f"The file has no key field {self.key}.",
                                 parameter="key")
        values = frame[self.key].tolist()
        keys = [None if v is None or (isinstance(v, float) and np.isnan(v)) or v == "" else str(v) for v in values]
        for i, k in enumerate(keys):
            if ok[i] and k is None:
                ok[i] = False
                self.report.reject(offset + i + 1, f"Thiếu giá trị khóa {self.key}.", f"The key {self.key} is empty.",
                                   self.key, None)
        return keys

    def _sample_text(self, frame: pd.DataFrame) -> None:
        if len(self.text_samples) >= 2000:
            return
        for name in frame.columns:
            if is_text(frame[name]):
                self.text_samples.extend(v for v in frame[name].head(200).tolist() if isinstance(v, str))

    def _sample_values(self, frame: pd.DataFrame) -> None:
        for name in frame.columns:
            kept = self.value_samples.setdefault(str(name), [])
            if len(kept) < 200:
                kept.extend(frame[name].head(200 - len(kept)).tolist())

    def too_many(self) -> IngestRejected:
        n, limit = self.report.rejected_count, self.max_rejects
        return IngestRejected(f"{n} dòng bị từ chối, vượt giới hạn {limit}; không có gì thay đổi.",
                              f"{n} rows rejected, more than the limit of {limit}; nothing was changed.")


def _create_layer(slug: str, source: Source, column_map: dict[str, str], file_name: str) -> Layer:
    title = title_from_file(file_name)
    return layer_create(slug=slug, title_vi=title, title_en=title, is_public=False,
                        geometry_type=geometry_type_from_data(infer_geometry_type(source.info.get("geometry_type")),
                                                              read_geometries(source)),
                        schema=infer_schema(source.info, column_map), source_crs=str(source.info.get("crs") or "")[:64])


def _conflict(error: Exception) -> IngestRejected:
    """A unique key of the layer (a parcel's ward + sheet + number) repeated by the file or already present."""
    detail = str(error).split("DETAIL:")[-1].strip()[:300]
    return IngestRejected(f"Dữ liệu trùng khóa duy nhất của lớp; không có gì thay đổi. {detail}",
                          f"Rows repeat a unique key of the layer; nothing was changed. {detail}", parameter="path")


ANALYZE_AFTER_ROWS = 10_000  # a bulk load changes the table enough to mislead the planner until ANALYZE


def refresh_planner_statistics(layer_id: int, run_id: int) -> None:
    """Fresh statistics after a large load (tile queries ran 5× slower on stale ones): the layer's partition and
    the history the load wrote (its own segment after a bulk load), not the tables' unchanged rest."""
    bulk.analyze(layer_id, run_id)


def _load(source: Source, existing: Layer | None, slug: str, mode: str, report: Report, *, crs, column_map, key,
          max_rejects, dry_run, user, run: IngestRun, file_name, progress: Progress | None, wait_for_lock: bool,
          not_personal: list[str], shape: dict, kind: str = "ingest") -> Layer | None:
    user_id = user.pk if user is not None and getattr(user, "pk", None) else None
    with transaction.atomic():
        abort_when_client_dies()
        lock_layer(slug, wait=wait_for_lock)
        # The history triggers record every row this transaction writes under this run, user and comment.
        change_context(user=user if user_id else None, comment=f"{kind} {file_name} ({mode})"[:1000], run_id=run.pk,
                       kind=kind)
        layer = existing or _create_layer(slug, source, column_map, file_name)
        if existing is not None:
            close_for_load(existing.pk)  # edits under way finish first; new ones are refused until this ends
            layer = Layer.objects.select_for_update().get(pk=existing.pk)
        before = layer_bounds(layer.pk) if mode in ("replace", *KEYED_MODES) and not dry_run else None
        has_rows = layer_has_rows(layer.pk)
        # A large create/replace/append builds the layer's new partition and swaps it in (ingest/bulk.py). Into an
        # empty layer each chunk moves into the layer as it comes; a replace over rows, an upsert or a dry run
        # keeps everything staged for one comparison.
        large = not dry_run and bulk.is_bulk(mode, source.feature_count)
        diff = mode in KEYED_MODES or (mode == "replace" and has_rows)
        create_staging()
        writer, load = _writer(layer.pk, user_id, run.pk, mode, has_rows, large=large, diff=diff, dry_run=dry_run)
        pipeline = _Pipeline(source, layer, report, writer, crs=crs, column_map=column_map, key=key,
                             max_rejects=max_rejects)
        try:
            try:
                for offset, wkb, frame in read_chunks(source, CHUNK_SIZE):
                    pipeline.chunk(offset, wkb, frame)
                    if progress:
                        progress(report.read, source.feature_count)
                    pause_point("load", settle=writer.wait)
            finally:
                writer.close()
        except (psycopg2.IntegrityError, IntegrityError) as error:
            raise _conflict(error) from None
        if report.read == 0:
            raise IngestRejected("Tệp không có đối tượng nào.", "The file holds no features.", parameter="path")
        if key:
            duplicates = duplicate_keys()
            for row, value in duplicates:
                report.reject(row, f"Khóa {key} trùng với một dòng trước.", f"Key {key} repeats an earlier row.", key, value)
            delete_staged_rows([row for row, _ in duplicates])
        mojibake = guess_mojibake(pipeline.text_samples, source.decode_with)
        if mojibake:
            report.warn(f"Text looks like mojibake: it reads as Vietnamese with --encoding {mojibake}.")
        if report.rejected_count > max_rejects:
            raise pipeline.too_many()
        mark_personal(layer, pipeline.value_samples, report, created=existing is None, not_personal=not_personal,
                      original_names=pipeline.original_names)
        if dry_run:
            transaction.set_rollback(True)
            return existing
        if load is not None:
            try:
                _finish_bulk(load, report, writer, replacing=mode == "replace" and has_rows)
            except IntegrityError as error:
                raise _conflict(error) from None
        elif diff:
            try:
                counts = _apply_diff(mode, layer.pk, user_id, key)
            except IntegrityError as error:
                raise _conflict(error) from None
            _count(report, counts)
        else:
            report.inserted = writer.inserted
        # Loaded: the file's rows the layer now holds, whether written now or already there unchanged.
        report.loaded = report.inserted + report.updated + report.unchanged
        if report.inserted or report.updated or report.deleted or mode == "create":
            features_changed(layer=layer, bounds=[b for b in (before, pipeline.loaded_bounds()) if b])
            layer_refresh_stats(layer=layer)
        if mode in ("create", "replace"):  # the layer now holds exactly this file's rows
            replay.remember(report, layer.pk, replay.load_fingerprint(layer, **shape))
        # The run's success commits with the data or not at all: a kill before COMMIT leaves both as they were.
        run.layer, run.status = layer, IngestRun.Status.SUCCEEDED
        _record(run, report)
        pause_point("final")
        return layer


def _apply_diff(mode: str, layer_id: int, user_id: int | None, key: str | None) -> dict[str, int]:
    """The staged rows compared with the layer's: by key (upsert, mirror) or by content (replace)."""
    if mode == "upsert":
        return apply_upsert(layer_id, user_id, key)
    if mode == "mirror":
        return apply_mirror(layer_id, user_id, key)
    return apply_replace(layer_id, user_id)


def _writer(layer_id: int, user_id: int | None, run_id: int, mode: str, has_rows: bool, *, large: bool, diff: bool,
            dry_run: bool) -> tuple[ChunkWriter, "bulk.BulkLoad | None"]:
    """Where each written chunk goes next: into a bulk load's tables, into the layer, or nowhere (stays staged)."""
    if large:
        load = bulk.BulkLoad(layer_id, run_id)
        load.create_tables()
        if mode == "append" and has_rows:
            load.keep_existing()
        replacing = mode == "replace" and has_rows
        writer = ChunkWriter(layer_id, user_id, move=load.move_sql(replacing=replacing))
        if replacing:
            writer.start_with(*load.hash_old_sql())
        return writer, load
    return ChunkWriter(layer_id, user_id, move=None if diff or dry_run else MOVE_INTO_LAYER), None


def _finish_bulk(load: "bulk.BulkLoad", report: Report, writer: ChunkWriter, *, replacing: bool) -> None:
    """Matches a replace against the layer's rows (history, counts), builds the indexes, swaps the partition in."""
    if replacing:
        _count(report, load.match_replaced())
        if not report.inserted and not report.deleted:
            load.discard()
            return
    else:
        report.inserted = writer.inserted
    load.build_indexes()
    load.swap_in()


def _count(report: Report, counts: dict[str, int]) -> None:
    report.inserted, report.updated = counts["inserted"], counts["updated"]
    report.deleted, report.unchanged = counts["deleted"], counts["unchanged"]


def ingest_file(*, path: Path, layer: Layer | str, mode: str = "replace", crs: str | None = None,
                encoding: str | None = None, source_layer: str | None = None,
                column_map: dict[str, str] | None = None, max_rejects: int = 0, dry_run: bool = False,
                user=None, key: str | None = None, progress: Progress | None = None,
                run: IngestRun | None = None, wait_for_lock: bool = False,
                not_personal: list[str] | None = None, recheck: bool = False, kind: str = "ingest") -> IngestRun:
    """Loads a file into a layer atomically and records the run; any failure leaves the layer as it was.
    Likely personal fields of a new layer are marked personal, except those named in `not_personal`.
    A replace with the file the layer already holds is answered without reading it (ingest/replay.py) unless
    `recheck`. `kind` is "ingest" or "harvest" (opendata/harvest): what the change listeners are told."""
    raw_path, path = str(path), Path(path)
    user_id = user.pk if user is not None and getattr(user, "pk", None) else None
    slug = layer.slug if isinstance(layer, Layer) else str(layer)
    reap_dead_runs(layer_slug=slug)
    bulk.drop_orphans()
    run_lock = None
    if run is None:
        run, run_lock = start_run(layer=layer if isinstance(layer, Layer) else None, layer_slug=slug,
                                  user_id=user_id, file_name=path.name[:500], mode=mode)
    run.status, run.user_id = IngestRun.Status.RUNNING, run.user_id or user_id
    report = Report(dry_run=dry_run)
    try:
        reject_remote(raw_path)
        _check_options(mode, key)
        # Who may load decides first (the same rule as the upload page's): a hidden layer is 404, not "exists".
        authorize_load(user, layer if isinstance(layer, Layer) else Layer.objects.filter(slug=slug).first())
        existing, slug = _resolve_layer(layer, mode)
        run.file_sha256 = file_sha256(path) if path.exists() and not str(path).startswith("/vsi") else ""
        shape = dict(sha256=run.file_sha256, crs=crs, encoding=encoding, source_layer=source_layer,
                     column_map=column_map or {}, max_rejects=max_rejects)
        previous = None
        if mode == "replace" and not dry_run and not recheck and run.file_sha256:
            previous = replay.previous_load(existing, replay.load_fingerprint(existing, **shape))
        if previous is not None:
            replay.replay(report, previous)
            run.layer, run.status = existing, IngestRun.Status.SUCCEEDED
            return run
        source = open_source(path, source_layer=source_layer, encoding=encoding)
        try:
            report.source_layer, report.encoding = source.layer, source.decode_with
            for warning in source.warnings:
                report.warn(warning)
            run.progress_total = source.feature_count
            loaded_layer = _load(source, existing, slug, mode, report, crs=crs, column_map=column_map or {}, key=key,
                                 max_rejects=max_rejects, dry_run=dry_run, user=user, run=run, file_name=path.name,
                                 progress=progress, wait_for_lock=wait_for_lock, not_personal=list(not_personal or []),
                                 shape=shape, kind=kind)
        finally:
            source.close()
        run.layer = loaded_layer
        run.status = IngestRun.Status.SUCCEEDED
        if not dry_run and report.inserted + report.updated >= ANALYZE_AFTER_ROWS:
            refresh_planner_statistics(loaded_layer.pk, run.pk)
    except DomainError as error:
        run.status = IngestRun.Status.FAILED
        report.error = {"vi": error.message_vi, "en": error.message_en}
        report.rolled_back()
        raise
    except Exception as error:
        run.status = IngestRun.Status.FAILED
        report.rolled_back()
        report.error = {"vi": "Lỗi khi nạp dữ liệu; không có gì thay đổi.", "en": f"Ingest failed, nothing changed: {error}"[:500]}
        raise
    finally:
        _record(run, report)
        if run_lock is not None:
            run_lock.release()
    return run


def _record(run: IngestRun, report: Report) -> None:
    """Saves the run's counts, report and end time (its status is set by the caller)."""
    run.crs_found, run.crs_used = report.crs_found[:200], report.crs_used[:200]
    run.read_count, run.loaded_count = report.read, report.loaded
    run.repaired_count, run.rejected_count = report.repaired_count, report.rejected_count
    run.progress_done = report.read
    run.report = report.as_dict()
    run.finished_at = timezone.now()
    run.save()
