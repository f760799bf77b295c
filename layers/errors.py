"""The one table of errors a request can meet: each type with its HTTP status, code and vi/en message.

Views and services raise these; gisportal.errors renders every one of them (and Django's own 400, 403,
404, 405 and CSRF failures, mapped onto them) in one place: a page for people, JSON for machines.
"""


class DomainError(Exception):
    """Base of errors a user can cause; `status` is the HTTP status they map to."""

    status = 400
    code = "bad-request"
    retry_after: int | None = None  # seconds: rendered as a Retry-After header (429, 503)

    def __init__(self, message_vi: str, message_en: str, *, parameter: str | None = None,
                 retry_after: int | None = None):
        super().__init__(message_en)
        self.message_vi = message_vi
        self.message_en = message_en
        self.parameter = parameter
        if retry_after is not None:  # else the class's own (None: no Retry-After)
            self.retry_after = retry_after

    def message(self, language: str) -> str:
        """The message in the given language code ('vi' or 'en')."""
        return self.message_vi if language.startswith("vi") else self.message_en

    def headers(self) -> dict[str, str]:
        """Extra response headers this error carries."""
        return {"Retry-After": str(int(self.retry_after))} if self.retry_after is not None else {}


class BadRequest(DomainError):
    """A request that cannot be read (Django's BadRequest and SuspiciousOperation land here)."""

    def __init__(self, message_vi: str = "Yêu cầu không hợp lệ.", message_en: str = "Bad request.", **kwargs):
        super().__init__(message_vi, message_en, **kwargs)


class InvalidTile(DomainError):
    code = "invalid-tile"


class InvalidBBox(DomainError):
    code = "invalid-bbox"


class InvalidParameter(DomainError):
    code = "invalid-parameter"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"

    def __init__(self, message_vi: str = "Bạn không có quyền thực hiện thao tác này.",
                 message_en: str = "You do not have permission to do this.", **kwargs):
        super().__init__(message_vi, message_en, **kwargs)


class CsrfFailed(Forbidden):
    """A write without the page's CSRF token (a form from elsewhere, or a script without the token)."""

    code = "csrf-failed"

    def __init__(self):
        super().__init__("Yêu cầu bị từ chối: thiếu hoặc sai mã bảo vệ CSRF. Hãy tải lại trang rồi thử lại.",
                         "Request refused: the CSRF token is missing or wrong. Reload the page and try again.")


class NotFound(DomainError):
    status = 404
    code = "not-found"

    def __init__(self, message_vi: str = "Không tìm thấy trang.", message_en: str = "Page not found.", **kwargs):
        super().__init__(message_vi, message_en, **kwargs)


class UnknownLayer(NotFound):
    """No such layer, or one the user may not see: both answer 404 and reveal nothing."""

    def __init__(self, slug: str = ""):
        super().__init__("Không tìm thấy lớp dữ liệu.", "Layer not found.")


class MethodNotAllowed(DomainError):
    status = 405
    code = "method-not-allowed"

    def __init__(self, method: str, allowed: list[str] | tuple[str, ...]):
        self.allowed = [m.upper() for m in allowed]
        listed = ", ".join(self.allowed)
        method = method[:20]
        super().__init__(f"Phương thức {method} không được phép ở đây; dùng {listed}.",
                         f"Method {method} is not allowed here; use {listed}.")

    def headers(self) -> dict[str, str]:
        return {**super().headers(), "Allow": ", ".join(self.allowed)}


class Conflict(DomainError):
    status = 409
    code = "conflict"


class StaleVersion(Conflict):
    code = "stale-version"


class LayerBeingLoaded(Conflict):
    """An edit while an ingest loads the layer (layers/loadgate.py)."""

    code = "layer-being-loaded"

    def __init__(self):
        super().__init__("Lớp đang được nạp dữ liệu từ tệp; hãy lưu lại sau khi lần nạp kết thúc.",
                         "The layer is being loaded from a file; save again once the load has finished.")


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload-too-large"


class IngestRejected(DomainError):
    status = 422
    code = "ingest-rejected"


class TooManyRequests(DomainError):
    status = 429
    code = "too-many-requests"
    retry_after = 60


class ServiceUnavailable(DomainError):
    """The platform cannot answer now (database down, too many exports building): try again later."""

    status = 503
    code = "service-unavailable"

    retry_after = 10

    def __init__(self, message_vi: str = "Dịch vụ tạm thời không khả dụng. Vui lòng thử lại sau ít phút.",
                 message_en: str = "The service is temporarily unavailable. Please try again in a few minutes.",
                 **kwargs):
        super().__init__(message_vi, message_en, **kwargs)


class InsufficientStorage(DomainError):
    """A disk the platform writes to is full; the write was undone."""

    status = 507
    code = "insufficient-storage"

    def __init__(self, message_vi: str = "Ổ đĩa lưu trữ của máy chủ đã đầy; không có gì được ghi. Hãy báo quản trị viên.",
                 message_en: str = "The server's storage disk is full; nothing was written. Please tell the administrator.",
                 *, parameter: str | None = None):
        super().__init__(message_vi, message_en, parameter=parameter)
