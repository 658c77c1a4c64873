"""Which backend serves a profile."""

from __future__ import annotations

from runbridge.backends.base import Backend
from runbridge.config import AVAILABLE_BACKENDS, Profile
from runbridge.errors import BackendUnavailable


def create_backend(profile: Profile) -> Backend:
    """A backend for ``profile`` (one per profile: remote ones hold its endpoint and keys)."""
    if profile.type not in AVAILABLE_BACKENDS:
        raise BackendUnavailable(
            f"profile {profile.name!r}: backend type {profile.type!r} is not available in this "
            f"runbridge version (available: {', '.join(AVAILABLE_BACKENDS)})",
            backend=profile.type,
            profile=profile.name,
        )
    if profile.type == "local":
        from runbridge.backends.local import LocalBackend

        return LocalBackend()
    if profile.type == "jupyter":
        from runbridge.backends.jupyter.backend import JupyterBackend

        return JupyterBackend(profile)
    if profile.type == "backendai":
        from runbridge.backends.backendai.backend import BackendAIBackend

        return BackendAIBackend(profile)
    raise BackendUnavailable(f"no backend implements type {profile.type!r}", backend=profile.type)
