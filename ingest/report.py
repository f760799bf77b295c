"""The ingest report: counts, every rejected and repaired row with its reason, warnings, the CRS decision."""
from dataclasses import dataclass, field

# Details kept in the stored report; counts stay exact beyond it (a million bad rows is one message).
MAX_DETAILS = 10_000


@dataclass
class Report:
    """What happened to every row of one ingest."""

    read: int = 0
    loaded: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    rejected_count: int = 0
    repaired_count: int = 0
    rejected: list[dict] = field(default_factory=list)
    repaired: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    personal: list[dict] = field(default_factory=list)  # personal fields: {field, reason_vi, reason_en}
    crs_found: str = ""
    crs_used: str = ""
    source_layer: str | None = None
    encoding: str | None = None
    error: dict | None = None
    dry_run: bool = False
    replay: dict | None = None  # what ingest/replay.py needs to recognise the same load again

    def reject(self, row: int, reason_vi: str, reason_en: str, field_name: str | None = None, value=None) -> None:
        """Records a refused row (row numbers count from 1, as a spreadsheet shows them)."""
        self.rejected_count += 1
        if len(self.rejected) < MAX_DETAILS:
            self.rejected.append({"row": int(row), "reason_vi": reason_vi, "reason_en": reason_en,
                                  "field": field_name, "value": None if value is None else str(value)[:200]})

    def repair(self, row: int, action: str, reason: str = "") -> None:
        """Records a row changed to fit (make_valid, single → multi, …)."""
        self.repaired_count += 1
        if len(self.repaired) < MAX_DETAILS:
            self.repaired.append({"row": int(row), "action": action, "reason": reason})

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def rolled_back(self) -> None:
        """Nothing was written: the counts of written rows go back to zero."""
        self.loaded = self.inserted = self.updated = self.deleted = self.unchanged = 0

    def as_dict(self) -> dict:
        """JSON-ready form, stored on the IngestRun."""
        return {
            "read": self.read, "loaded": self.loaded, "inserted": self.inserted, "updated": self.updated,
            "deleted": self.deleted, "unchanged": self.unchanged,
            "rejected_count": self.rejected_count, "repaired_count": self.repaired_count,
            "crs_found": self.crs_found, "crs_used": self.crs_used, "source_layer": self.source_layer,
            "encoding": self.encoding, "dry_run": self.dry_run, "warnings": self.warnings, "error": self.error,
            "personal_fields": self.personal, "replay": self.replay,
            "rejected": sorted(self.rejected, key=lambda r: r["row"]),
            "repaired": sorted(self.repaired, key=lambda r: r["row"]),
            "details_truncated": self.rejected_count > len(self.rejected) or self.repaired_count > len(self.repaired),
        }
