"""Domain errors, each with its HTTP status and a message in Vietnamese and English.

Views raise these; gisportal.errors turns them into responses in one place.
"""


class DomainError(Exception):
    """Base of errors a user can cause; `status` is the HTTP status they map to."""

    status = 400
    code = "bad-request"

    def __init__(self, message_vi: str, message_en: str, *, parameter: str | None = None):
        super().__init__(message_en)
        self.message_vi = message_vi
        self.message_en = message_en
        self.parameter = parameter

    def message(self, language: str) -> str:
        """The message in the given language code ('vi' or 'en')."""
        return self.message_vi if language.startswith("vi") else self.message_en


class NotFound(DomainError):
    status = 404
    code = "not-found"


class UnknownLayer(NotFound):
    """No such layer, or one the user may not see: both answer 404 and reveal nothing."""

    def __init__(self, slug: str = ""):
        super().__init__("Không tìm thấy lớp dữ liệu.", "Layer not found.")


class InvalidTile(DomainError):
    code = "invalid-tile"


class InvalidBBox(DomainError):
    code = "invalid-bbox"


class InvalidParameter(DomainError):
    code = "invalid-parameter"


class StaleVersion(DomainError):
    status = 409
    code = "stale-version"


class IngestRejected(DomainError):
    status = 422
    code = "ingest-rejected"


class ServiceUnavailable(DomainError):
    """The service cannot answer just now (database away, too much work); clients retry after `retry_after` seconds."""

    status = 503
    code = "service-unavailable"

    def __init__(self, message_vi: str, message_en: str, *, retry_after: int = 5, parameter: str | None = None):
        super().__init__(message_vi, message_en, parameter=parameter)
        self.retry_after = retry_after


class InsufficientStorage(DomainError):
    """A disk the platform writes to is full; the write was undone."""

    status = 507
    code = "insufficient-storage"

    def __init__(self, message_vi: str = "Ổ đĩa lưu trữ của máy chủ đã đầy; không có gì được ghi. Hãy báo quản trị viên.",
                 message_en: str = "The server's storage disk is full; nothing was written. Please tell the administrator.",
                 *, parameter: str | None = None):
        super().__init__(message_vi, message_en, parameter=parameter)
