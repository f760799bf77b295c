"""Fingerprinted static files (GISPORTAL_STATIC_MANIFEST=1): WhiteNoise's manifest storage, minus source maps.

The vendored assets keep their upstream `sourceMappingURL` comments but not the .map files (they are only
for debugging the library itself); Django's manifest storage would fail the release on each of them, so
those references are left as they are (a browser asks for the map only with its developer tools open).
"""
from django.contrib.staticfiles.storage import ManifestStaticFilesStorage
from whitenoise.storage import CompressedManifestStaticFilesStorage


def _without_source_maps(patterns: tuple) -> tuple:
    def keep(pattern) -> bool:
        text = pattern[0] if isinstance(pattern, tuple) else pattern
        return "sourceMappingURL" not in text

    return tuple((glob, tuple(p for p in rules if keep(p))) for glob, rules in patterns)


class FingerprintedStaticStorage(CompressedManifestStaticFilesStorage):
    """name.<md5>.ext for every static file, compressed copies, URLs inside CSS rewritten (but source maps)."""

    patterns = _without_source_maps(CompressedManifestStaticFilesStorage.patterns)


class FingerprintedUncompressedStorage(ManifestStaticFilesStorage):
    """The same names without the .gz/.br copies (GISPORTAL_STATIC_COMPRESS=0): brotli at its best costs about a
    minute of CPU for our vendored assets, which a front that compresses itself (Varnish, nginx) need not pay."""

    patterns = _without_source_maps(ManifestStaticFilesStorage.patterns)
