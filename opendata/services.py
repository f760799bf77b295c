"""Writes of the open-data app: API tokens."""
from django.db import transaction
from django.db.models import Q

from layers.errors import InvalidParameter, NotFound
from opendata.models import ApiToken, hash_key

MAX_TOKENS_PER_USER = 10


@transaction.atomic
def api_token_create(*, user, name: str) -> tuple[ApiToken, str]:
    """A new token for the user; returns it and the key, which is shown once and stored only hashed."""
    name = (name or "").strip()[:100]
    if not name:
        raise InvalidParameter("Hãy đặt tên cho mã API.", "Give the token a name.", parameter="name")
    if ApiToken.objects.filter(user=user, revoked=False).count() >= MAX_TOKENS_PER_USER:
        raise InvalidParameter(f"Tối đa {MAX_TOKENS_PER_USER} mã API.", f"At most {MAX_TOKENS_PER_USER} API tokens.",
                               parameter="name")
    key = ApiToken.new_key()
    token = ApiToken.objects.create(user=user, name=name, prefix=key[:8], key_hash=hash_key(key))
    return token, key


def api_token_revoke(*, user, token_id: int) -> None:
    """Revokes one of the user's own tokens (404 for anyone else's)."""
    if not ApiToken.objects.filter(user=user, pk=token_id).update(revoked=True):
        raise NotFound("Không tìm thấy mã API.", "API token not found.")


def api_token_last_use_save() -> int:
    """Copies the last uses Redis saw (opendata.tokenuse) into ApiToken.last_used_at; how many tokens changed.

    An operator's path (manage.py token_last_use), never a public request's: keeps the display after Redis is lost.
    """
    from opendata import tokenuse

    changed = 0
    seen = tokenuse.last_used(ApiToken.objects.values_list("pk", flat=True))
    for token_id, when in seen.items():
        changed += ApiToken.objects.filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=when),
                                           pk=token_id).update(last_used_at=when)
    return changed
