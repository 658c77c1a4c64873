"""Which backend serves a profile."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from runbridge.backends.base import Backend
from runbridge.config import BACKEND_TYPES, Profile
from runbridge.errors import BackendUnavailable


def create_backend(profile: Profile) -> Backend:
    """A backend for ``profile`` (one per profile: remote ones hold its endpoint and keys),
    made by the class :data:`runbridge.config.BACKEND_TYPES` names for its type."""
    target = BACKEND_TYPES.get(profile.type)
    if target is None:
        raise BackendUnavailable(
            f"profile {profile.name!r}: backend type {profile.type!r} is not available in this "
            f"runbridge version (available: {', '.join(BACKEND_TYPES)})",
            backend=profile.type,
            profile=profile.name,
        )
    module, _, name = target.partition(":")
    factory: Callable[[Profile], Backend] = getattr(importlib.import_module(module), name)
    return factory(profile)
