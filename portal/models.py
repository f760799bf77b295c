"""The portal's models (each kind in its own module, so parts of the app change apart)."""
from portal.sheet_models import IssuedSheet  # noqa: F401
