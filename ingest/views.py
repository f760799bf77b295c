"""Upload page for data administrators: the same pipeline as manage.py ingest, run as a queued job by a worker."""
import shutil
import uuid
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from ingest import safety
from ingest.forms import UploadForm
from ingest.jobs import jobs_dir, queue_run, reap_dead_runs, reap_if_dead
from ingest.models import IngestRun
from ingest.personal import report_for
from ingest.storage import is_disk_full, write_atomically
from layers import editing
from layers.errors import DomainError, IngestRejected, InsufficientStorage, NotFound
from layers.history import clean_comment
from layers.jobs import job_state
from layers.models import Layer
from layers.permissions import authorize_load, can_edit, can_view, is_data_admin, may_load


def _require_admin(request: HttpRequest) -> None:
    """Data administrators, staff, or users granted ingest.add_ingestrun; anyone else is refused."""
    user = request.user
    if not (is_data_admin(user) or user.is_staff or user.has_perm("ingest.add_ingestrun")):
        raise PermissionDenied


def _login_first(view):
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), "/admin/login/")
        _require_admin(request)
        return view(request, *args, **kwargs)
    wrapped.__name__ = view.__name__
    return wrapped


def _save_upload(upload) -> Path:
    """Streams the upload into its own folder under the jobs directory; refuses it over the size limit."""
    if upload.size > safety.max_upload_bytes():
        raise IngestRejected(
            f"Tệp quá lớn ({upload.size // safety.MB} MB; giới hạn {safety.max_upload_bytes() // safety.MB} MB).",
            f"The file is too large ({upload.size // safety.MB} MB; the limit is {safety.max_upload_bytes() // safety.MB} MB).",
            parameter="file",
        )
    folder = jobs_dir() / "uploads" / uuid.uuid4().hex
    target = folder / (get_valid_filename(Path(upload.name).name) or "upload")
    try:
        folder.mkdir(parents=True)
        write_atomically(target, upload.chunks())
    except BaseException as error:
        shutil.rmtree(folder, ignore_errors=True)  # a full disk leaves no half upload behind
        if is_disk_full(error):
            raise InsufficientStorage(parameter="file") from None
        raise
    return target


@require_http_methods(["GET", "POST"])
@_login_first
def upload(request: HttpRequest) -> HttpResponse:
    """GET: the form and recent runs. POST: store the file, queue the run and its job, show its page."""
    if request.method == "POST" and int(request.META.get("CONTENT_LENGTH") or 0) > safety.max_upload_bytes() + safety.MB:
        raise IngestRejected("Tệp tải lên quá lớn.", "The upload is larger than the limit.", parameter="file")
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        authorize_load(request.user, Layer.objects.filter(slug=data["layer"]).first())  # before the file is kept
        path = _save_upload(data["file"])
        options = {k: data[k] for k in ("key", "crs", "encoding", "source_layer", "column_map", "max_rejects", "dry_run",
                                          "not_personal")}
        layer = Layer.objects.filter(slug=data["layer"]).first()
        try:
            with transaction.atomic():  # the run and its job commit together: no run without a job, nor the reverse
                run = IngestRun.objects.create(layer=layer, layer_slug=data["layer"], user=request.user,
                                               file_name=Path(data["file"].name).name[:500], mode=data["mode"],
                                               status=IngestRun.Status.QUEUED, options=options, upload_path=str(path))
                queue_run(run)
        except BaseException:
            shutil.rmtree(path.parent, ignore_errors=True)  # nothing will ever read it
            raise
        return redirect("ingest-run", run_id=run.pk)
    reap_dead_runs()  # the list never shows a killed run as running
    runs = [run for run in IngestRun.objects.select_related("user", "layer")[:100] if _may_see_run(request.user, run)][:20]
    layers = [layer.slug for layer in Layer.objects.filter(kind="vector").order_by("slug") if may_load(request.user, layer)]
    return render(request, "ingest/upload.html", {"form": form, "runs": runs, "layers": list(layers)},
                  status=400 if request.method == "POST" else 200)


@require_safe
@_login_first
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    """The run's live progress (the page refreshes itself while it runs), then its report."""
    run = reap_if_dead(_visible_run(request.user, run_id))
    report = report_for(request.user, run.layer, run.report)  # personal values only for those granted them
    return render(request, "ingest/run.html", {"run": run, "report": report, "active": run.status in ("queued", "running"),
                                               "can_revert": _may_revert(request.user, run), "job": _job(run)})


def _job(run: IngestRun) -> dict | None:
    """The run's queued job as every node sees it (procrastinate's tables on the primary), or None."""
    state = job_state(run.job_id)
    return state.as_dict() if state is not None else None


def _may_revert(user, run: IngestRun) -> bool:
    """A finished, real load into a layer the user may edit: only then is there something to undo, and a right to."""
    return (run.status == IngestRun.Status.SUCCEEDED and not (run.report or {}).get("dry_run") and run.layer is not None
            and can_edit(user, run.layer))


@require_POST
def run_revert(request: HttpRequest, run_id: int) -> HttpResponse:
    """The run page's undo button: every feature the run touched back as it was before it, then the page with a
    message; a refusal is its own status (403 outside the edit area, 409, 400) on an error page leading back."""
    run = _visible_run(request.user, run_id)
    if run.layer is None or not can_edit(request.user, run.layer):
        raise editing.EditForbidden()
    try:
        count = editing.run_revert(layer=run.layer, run_id=run.pk, user=request.user,
                                   comment=clean_comment(request.POST.get("comment")),
                                   force=request.POST.get("force") in ("1", "true", "on"))
    except DomainError as error:
        error.back_url = reverse("ingest-run", args=[run.pk])  # rendered by gisportal.errors
        raise
    messages.success(request, _("Ingest run %(run)s reverted: %(count)s features are back as they were before it.")
                     % {"run": run.pk, "count": count})
    return redirect("ingest-run", run_id=run.pk)


def _may_see_run(user, run: IngestRun) -> bool:
    return run.layer is None or can_view(user, run.layer)


def _visible_run(user, run_id: int) -> IngestRun:
    """The run, if its layer is one the user may see (a run into a hidden layer answers like no run: 404); a run
    that made no layer is seen by everyone who may open the ingest pages."""
    run = IngestRun.objects.select_related("layer").filter(pk=run_id).first()
    if run is None or not _may_see_run(user, run):
        raise NotFound("Không tìm thấy lần nạp dữ liệu.", "No such ingest run.")
    return run


@require_safe
@_login_first
def run_json(request: HttpRequest, run_id: int) -> JsonResponse:
    """The run's status, progress and full report as JSON."""
    run = reap_if_dead(_visible_run(request.user, run_id))
    return JsonResponse({
        "id": run.pk, "layer": run.layer_slug, "file_name": run.file_name, "file_sha256": run.file_sha256,
        "mode": run.mode, "status": run.status, "user": run.user.get_username() if run.user else None,
        "started_at": run.started_at, "finished_at": run.finished_at,
        "progress": {"done": run.progress_done, "total": run.progress_total},
        "crs_found": run.crs_found, "crs_used": run.crs_used,
        "counts": {"read": run.read_count, "loaded": run.loaded_count, "repaired": run.repaired_count,
                   "rejected": run.rejected_count},
        "report": report_for(request.user, run.layer, run.report), "job": _job(run),
    }, json_dumps_params={"ensure_ascii": False})
