"""One reader for settings that come from the environment."""
import os

from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str | None = None) -> str:
    """The variable's value, or the default; ImproperlyConfigured when neither exists."""
    value = os.environ.get(name, default)
    if value is None:
        raise ImproperlyConfigured(f"Set the environment variable {name}.")
    return value


def env_bool(name: str, default: bool = False) -> bool:
    """True for 1/true/yes/on (any case)."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _number(name: str, default, kind: type, what: str):
    """A numeric variable of this kind; a clear error when it is not one."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return kind(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be {what}, not {raw!r}.") from None


def env_int(name: str, default: int) -> int:
    """An integer variable; a clear error when it is not one."""
    return _number(name, default, int, "a whole number")


def env_float(name: str, default: float) -> float:
    """A number variable (fractions allowed); a clear error when it is not one."""
    return _number(name, default, float, "a number")


def env_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated variable as a list of stripped, non-empty items."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]
