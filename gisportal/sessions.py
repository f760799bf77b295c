"""Sessions read from Redis and written through to PostgreSQL (Django's cached_db), standing Redis being down.

Django's cached_db already survives a failed cache read and a failed write after save; its other cache
calls (filling the cache after a database read, `exists`, `delete`) would raise and turn every signed-in
page into a 500 while Redis is away. Here they are logged and skipped: the table alone serves until Redis
answers again (settings.SESSION_ENGINE explains why cached_db rather than the cache alone).
"""
import logging

from django.contrib.sessions.backends import cached_db

log = logging.getLogger(__name__)


class SessionStore(cached_db.SessionStore):
    """cached_db whose cache is an accelerator only: Redis errors never reach the request."""

    def load(self) -> dict:
        try:
            data = self._cache.get(self.cache_key)
        except Exception:  # Redis down (or a key the cache refuses): read the table
            data = None
        if data is not None:
            return data
        row = self._get_session_from_db()
        if not row:
            return {}
        data = self.decode(row.session_data)
        try:
            self._cache.set(self.cache_key, data, self.get_expiry_age(expiry=row.expire_date))
        except Exception as error:
            log.warning("session cache unavailable, reading sessions from the database: %s", error)
        return data

    def exists(self, session_key: str) -> bool:
        try:
            if session_key and (self.cache_key_prefix + session_key) in self._cache:
                return True
        except Exception:
            pass  # the table decides
        return cached_db.DBStore.exists(self, session_key)

    def delete(self, session_key: str | None = None) -> None:
        cached_db.DBStore.delete(self, session_key)
        session_key = session_key or self.session_key
        if session_key is None:
            return
        try:
            self._cache.delete(self.cache_key_prefix + session_key)
        except Exception as error:
            # The row is gone; a Redis that comes back with its data still holds the copy until it expires
            # (Django's own cached_db would have kept both and answered 500).
            log.warning("session cache unavailable, %s not removed from it: %s", session_key[:8], error)
