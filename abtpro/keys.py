"""API keys of the local stack's own users, created on first use and kept in the data dir (mode 600).

``demo`` (admin) is the key ``abtpro run`` prints for the ``curl``; the market replay pushes bars as
``replay-feed`` (role ``feeder``) and calls the service as the app user ``replay-app`` (role ``user``).
"""

from __future__ import annotations

from abtpro.settings import Settings
from store.users import ApiUser, UserExistsError, create_user, verify_key


def local_key(settings: Settings, name: str, role: str = "user") -> tuple[str, ApiUser]:
    """The key (and user) of the local user ``name``: the stored one when still valid, else a new user."""
    path = settings.resolved_data_dir() / f"{name}_api_key"
    if path.exists():
        key = path.read_text().strip()
        user = verify_key(settings.db_url, key)
        if user is not None:
            return key, user
    for suffix in ["", *range(2, 100)]:
        try:
            user, key = create_user(settings.db_url, f"{name}{suffix}", role=role)
            break
        except UserExistsError:
            continue
    else:
        raise RuntimeError(f"could not create a local user named {name}")
    path.write_text(key)
    path.chmod(0o600)
    return key, user
