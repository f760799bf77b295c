"""The portal's models, one module per feature (imported here so Django finds them)."""
from portal.report_models import Report, ReportModeration  # noqa: F401
from portal.sheet_models import IssuedSheet  # noqa: F401
