"""Settings: named profiles (with their idle timeouts) and output limits.

Sources, lowest to highest precedence:

1. built-in defaults (a ``local`` profile);
2. ``config.toml`` in the platformdirs config folder (or ``$RUNBRIDGE_CONFIG``);
3. environment variables ``RUNBRIDGE_PROFILE``, ``RUNBRIDGE_OUTPUT_CAP_MB`` and
   ``RUNBRIDGE_TRANSCRIPT_MAX_MB``;
4. LSP ``initializationOptions`` (``profile``, ``outputCapMb``, ``transcriptMaxMb``,
   ``profiles``, and the editor-only ``languages`` and ``cellMarkers``).

Invalid values never stop the daemon: each problem becomes a warning naming the
key, and the default is used instead.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from runbridge import paths
from runbridge.cells import DEFAULT_MARKERS, MarkerError, compile_marker
from runbridge.errors import ConfigError, quote
from runbridge.languages import SERVED_LANGUAGES

#: Every backend type, with the ``module:Class`` that implements it (imported when a
#: profile of that type is first used): the one list of backend types.
BACKEND_TYPES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "local": "runbridge.backends.local.backend:LocalBackend",
        "jupyter": "runbridge.backends.jupyter.backend:JupyterBackend",
        "backendai": "runbridge.backends.backendai.backend:BackendAIBackend",
    }
)
DEFAULT_OUTPUT_CAP_MB = 10.0
DEFAULT_TRANSCRIPT_MAX_MB = 100.0
#: A session idle this long is closed (0: never), by backend type: a day on ``local``;
#: never on the remote ones, whose servers cull idle kernels themselves.
DEFAULT_IDLE_TIMEOUT_MINUTES: Final[Mapping[str, float]] = MappingProxyType(
    {"local": 24 * 60.0, "jupyter": 0.0, "backendai": 0.0}
)
#: Started kernels kept per kernelspec by a ``local`` profile (``spare_kernels``; 0: none).
DEFAULT_SPARE_KERNELS = 1
_MAX_SPARE_KERNELS = 8

#: The size settings: attribute, ``config.toml`` key, ``initializationOptions`` key, env var.
_SIZES = (
    ("output_cap_mb", "output_cap_mb", "outputCapMb", "RUNBRIDGE_OUTPUT_CAP_MB"),
    ("transcript_max_mb", "transcript_max_mb", "transcriptMaxMb", "RUNBRIDGE_TRANSCRIPT_MAX_MB"),
)


@dataclass(frozen=True)
class Profile:
    name: str
    type: str
    image: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    #: ``idle_timeout_minutes``; None: the default of the profile's type.
    idle_timeout_minutes: float | None = None
    #: ``spare_kernels`` (``local`` profiles): started kernels kept per kernelspec.
    spare_kernels: int = DEFAULT_SPARE_KERNELS

    @property
    def idle_timeout_s(self) -> float:
        """Seconds a session of this profile may stay idle before it is closed (0: never)."""
        minutes = self.idle_timeout_minutes
        if minutes is None:
            minutes = DEFAULT_IDLE_TIMEOUT_MINUTES.get(self.type, 0.0)
        return minutes * 60.0


@dataclass
class Settings:
    profiles: dict[str, Profile]
    default_profile: str = "local"
    output_cap_mb: float = DEFAULT_OUTPUT_CAP_MB
    #: A session's transcript is rotated (``NAME.1.jsonl``) at a run start past this size.
    transcript_max_mb: float = DEFAULT_TRANSCRIPT_MAX_MB
    #: The languageIds whose documents get language features (``languages``).
    languages: frozenset[str] = SERVED_LANGUAGES
    #: Cell markers the editor set (``cellMarkers``): languageId or ``"*"`` -> pattern,
    #: each one checked; :func:`runbridge.cells.marker_for` falls back to the defaults.
    cell_markers: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def profile(self, name: str | None) -> Profile:
        key = name or self.default_profile
        try:
            return self.profiles[key]
        except KeyError:
            known = ", ".join(sorted(self.profiles)) or "none"
            raise ConfigError(
                f"unknown profile {quote(key)} (known profiles: {known})", profile=key
            ) from None


def _default_profiles() -> dict[str, Profile]:
    return {"local": Profile(name="local", type="local")}


def _parse_profiles(raw: Any, where: str, warnings: list[str]) -> dict[str, Profile]:
    profiles: dict[str, Profile] = {}
    if not isinstance(raw, dict):
        warnings.append(f"{where}: 'profiles' must be a table; ignored")
        return profiles
    for name, body in raw.items():
        key = f"{where}: profiles.{name}"
        if not isinstance(body, dict):
            warnings.append(f"{key} must be a table; ignored")
            continue
        kind = body.get("type", "local")
        if kind not in BACKEND_TYPES:
            warnings.append(
                f"{key}.type = {kind!r} is not one of {', '.join(BACKEND_TYPES)}; profile ignored"
            )
            continue
        image = body.get("image")
        if image is not None and not isinstance(image, str):
            warnings.append(f"{key}.image must be a string; default image used")
            image = None
        idle_timeout = None
        if "idle_timeout_minutes" in body:
            idle_timeout = _parse_minutes(
                body["idle_timeout_minutes"], f"{key}.idle_timeout_minutes", warnings
            )
        own = ["type", "image", "idle_timeout_minutes"]
        spare_kernels = DEFAULT_SPARE_KERNELS
        if kind == "local" and "spare_kernels" in body:
            own.append("spare_kernels")
            spare_kernels = _parse_spares(body["spare_kernels"], f"{key}.spare_kernels", warnings)
        settings = {k: v for k, v in body.items() if k not in own}
        profiles[name] = Profile(
            name=name,
            type=kind,
            image=image,
            settings=settings,
            idle_timeout_minutes=idle_timeout,
            spare_kernels=spare_kernels,
        )
    return profiles


def _parse_minutes(value: Any, where: str, warnings: list[str]) -> float | None:
    """A number of minutes, 0 or more (fractions allowed), else a warning and None."""
    minutes: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        minutes = float(value)
    if minutes is None or not 0 <= minutes < float("inf"):
        warnings.append(f"{where} = {value!r} is not a number of minutes (0 or more); default used")
        return None
    return minutes


def _parse_spares(value: Any, where: str, warnings: list[str]) -> int:
    """A whole number of spare kernels, 0 to 8, else a warning and the default."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_SPARE_KERNELS:
        return value
    warnings.append(
        f"{where} = {value!r} is not a whole number from 0 to {_MAX_SPARE_KERNELS}; "
        f"default ({DEFAULT_SPARE_KERNELS}) used"
    )
    return DEFAULT_SPARE_KERNELS


def _parse_cap(value: Any, where: str, warnings: list[str]) -> float | None:
    try:
        cap = float(value)
    except (TypeError, ValueError):
        warnings.append(f"{where} = {value!r} is not a number of MB; default used")
        return None
    if cap <= 0:
        warnings.append(f"{where} = {value!r} must be positive; default used")
        return None
    return cap


def _parse_languages(value: Any, where: str, warnings: list[str]) -> frozenset[str] | None:
    """A list of languageIds, else a warning and None (the default is kept)."""
    if isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value):
        return frozenset(value)
    warnings.append(f"{where} = {value!r} is not a list of languageIds; default used")
    return None


def _parse_markers(value: Any, where: str, warnings: list[str]) -> dict[str, str]:
    """``cellMarkers``: each usable pattern kept; a bad one is a warning naming its key."""
    if not isinstance(value, dict):
        warnings.append(f"{where} must be an object (languageId -> pattern); defaults used")
        return {}
    markers: dict[str, str] = {}
    for language, pattern in value.items():
        key = f"{where}.{language}"
        if not isinstance(pattern, str):
            warnings.append(f"{key} = {pattern!r} is not a string; default used")
            continue
        try:
            compile_marker(pattern)
        except MarkerError as exc:
            warnings.append(f"{key}: {exc}; default used")
            continue
        markers[language] = pattern
    for language in list(value):  # a bad entry: that language's default, not "*"
        if language not in markers and language in DEFAULT_MARKERS:
            markers[language] = DEFAULT_MARKERS[language]
    return markers


def _apply_editor_options(settings: Settings, raw: dict[str, Any], where: str) -> None:
    """``languages`` and ``cellMarkers``: settings of the editor's documents."""
    if "languages" in raw:
        languages = _parse_languages(raw["languages"], f"{where}: languages", settings.warnings)
        if languages is not None:
            settings.languages = languages
    if "cellMarkers" in raw:
        markers = _parse_markers(raw["cellMarkers"], f"{where}: cellMarkers", settings.warnings)
        settings.cell_markers = markers


def _apply(settings: Settings, raw: dict[str, Any], where: str, init_options: bool) -> None:
    if init_options:
        _apply_editor_options(settings, raw, where)
    if "profiles" in raw:
        settings.profiles.update(_parse_profiles(raw["profiles"], where, settings.warnings))
    for attr, file_key, init_key, _ in _SIZES:
        key = init_key if init_options else file_key
        if key in raw:
            size = _parse_cap(raw[key], f"{where}: {key}", settings.warnings)
            if size is not None:
                setattr(settings, attr, size)
    for key in ("default_profile", "profile"):
        if key in raw:
            if isinstance(raw[key], str):
                settings.default_profile = raw[key]
            else:
                settings.warnings.append(f"{where}: {key} must be a string; ignored")


def _read_file(path: Path, warnings: list[str]) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRGRP | stat.S_IROTH):
            warnings.append(
                f"{path} is readable by other users; it may hold secrets (chmod 600 it)"
            )
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        warnings.append(f"{path}: cannot be read ({exc}); defaults used")
        return {}


def load_settings(init_options: Any = None) -> Settings:
    """Build the settings from every source (see the module docstring)."""
    settings = Settings(profiles=_default_profiles())
    path = paths.config_file()
    raw = _read_file(path, settings.warnings)
    _apply(settings, raw, str(path), init_options=False)

    env_profile = os.environ.get("RUNBRIDGE_PROFILE")
    if env_profile:
        settings.default_profile = env_profile
    for attr, _, _, env_var in _SIZES:
        if env_value := os.environ.get(env_var):
            size = _parse_cap(env_value, env_var, settings.warnings)
            if size is not None:
                setattr(settings, attr, size)

    if init_options is not None:
        if isinstance(init_options, dict):
            _apply(settings, init_options, "initializationOptions", init_options=True)
        else:
            settings.warnings.append("initializationOptions must be an object; ignored")

    if settings.default_profile not in settings.profiles:
        settings.warnings.append(
            f"default_profile {settings.default_profile!r} is not a known profile; using 'local'"
        )
        settings.default_profile = "local"
        settings.profiles.setdefault("local", Profile(name="local", type="local"))
    return settings
