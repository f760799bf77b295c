"""The page's language, for the few values the views choose between Vietnamese and English."""
from django.utils.translation import get_language


def english() -> bool:
    """True when the page is in English (Vietnamese is the default)."""
    return (get_language() or "vi").startswith("en")


def label(spec: dict) -> str:
    """A field's label in the page's language."""
    return spec["label_en"] if english() else spec["label_vi"]
