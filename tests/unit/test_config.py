"""Settings: defaults < config.toml < environment < initializationOptions; bad values warn."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from runbridge.cells import DEFAULT_MARKERS
from runbridge.config import (
    DEFAULT_OUTPUT_CAP_MB,
    DEFAULT_TRANSCRIPT_MAX_MB,
    Profile,
    load_settings,
)
from runbridge.errors import ConfigError


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "config"
    monkeypatch.setenv("RUNBRIDGE_CONFIG_DIR", str(folder))
    for name in (
        "RUNBRIDGE_CONFIG", "RUNBRIDGE_PROFILE", "RUNBRIDGE_OUTPUT_CAP_MB",
        "RUNBRIDGE_TRANSCRIPT_MAX_MB",
    ):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    return folder


def write_config(folder: Path, text: str, mode: int = 0o600) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    os.chmod(path, mode)
    return path


FILE = """
default_profile = "team"
output_cap_mb = 3

[profiles.team]
type = "local"
image = "python3"
gpus = 2

[profiles.other]
type = "local"
"""


def test_defaults_without_any_source(config_dir: Path) -> None:
    settings = load_settings()
    assert settings.warnings == []
    assert settings.default_profile == "local"
    assert settings.output_cap_mb == DEFAULT_OUTPUT_CAP_MB
    assert settings.profile(None) == Profile(name="local", type="local")


def test_config_file_is_used(config_dir: Path) -> None:
    write_config(config_dir, FILE)
    settings = load_settings()
    assert settings.warnings == []
    assert settings.default_profile == "team"
    assert settings.output_cap_mb == 3.0
    team = settings.profile(None)
    assert (team.name, team.type, team.image) == ("team", "local", "python3")
    assert team.settings == {"gpus": 2}
    assert set(settings.profiles) == {"local", "team", "other"}


def test_runbridge_config_points_at_another_file(
    config_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(config_dir, 'default_profile = "local"\n')
    elsewhere = write_config(tmp_path / "elsewhere", FILE)
    monkeypatch.setenv("RUNBRIDGE_CONFIG", str(elsewhere))
    assert load_settings().default_profile == "team"


def test_environment_overrides_the_file(config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(config_dir, FILE)
    monkeypatch.setenv("RUNBRIDGE_PROFILE", "other")
    monkeypatch.setenv("RUNBRIDGE_OUTPUT_CAP_MB", "0.5")
    settings = load_settings()
    assert settings.warnings == []
    assert settings.default_profile == "other"
    assert settings.output_cap_mb == 0.5


def test_init_options_override_environment_and_file(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(config_dir, FILE)
    monkeypatch.setenv("RUNBRIDGE_PROFILE", "other")
    monkeypatch.setenv("RUNBRIDGE_OUTPUT_CAP_MB", "0.5")
    settings = load_settings(
        {
            "profile": "gpu",
            "outputCapMb": 7,
            "profiles": {"gpu": {"type": "local", "image": "python3"}},
        }
    )
    assert settings.warnings == []
    assert settings.default_profile == "gpu"
    assert settings.output_cap_mb == 7.0
    # profiles from every source are merged
    assert {"local", "team", "other", "gpu"} <= set(settings.profiles)


def test_init_options_profile_redefines_a_file_profile(config_dir: Path) -> None:
    write_config(config_dir, FILE)
    settings = load_settings({"profiles": {"team": {"type": "local", "image": "py-other"}}})
    assert settings.profiles["team"].image == "py-other"


def test_invalid_cap_in_init_options_warns_naming_the_key(config_dir: Path) -> None:
    write_config(config_dir, FILE)
    settings = load_settings({"outputCapMb": "lots"})
    assert settings.output_cap_mb == 3.0  # the file's value is kept
    assert len(settings.warnings) == 1
    assert "outputCapMb" in settings.warnings[0]
    assert "lots" in settings.warnings[0]


@pytest.mark.parametrize("value", ["0", "-2", "many"])
def test_invalid_cap_in_environment_warns(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("RUNBRIDGE_OUTPUT_CAP_MB", value)
    settings = load_settings()
    assert settings.output_cap_mb == DEFAULT_OUTPUT_CAP_MB
    assert len(settings.warnings) == 1
    assert "RUNBRIDGE_OUTPUT_CAP_MB" in settings.warnings[0]


def test_invalid_values_in_file_are_each_named(config_dir: Path) -> None:
    path = write_config(
        config_dir,
        """
output_cap_mb = "big"
default_profile = 5

[profiles.cloud]
type = "mainframe"

[profiles.badimage]
type = "local"
image = 3
""",
    )
    settings = load_settings()
    text = "\n".join(settings.warnings)
    assert "output_cap_mb" in text
    assert "default_profile must be a string" in text
    assert "profiles.cloud.type" in text and "mainframe" in text
    assert "profiles.badimage.image" in text
    assert all(str(path) in w for w in settings.warnings)
    assert settings.output_cap_mb == DEFAULT_OUTPUT_CAP_MB
    assert settings.default_profile == "local"
    assert "cloud" not in settings.profiles
    assert settings.profiles["badimage"].image is None


def test_profiles_must_be_a_table(config_dir: Path) -> None:
    settings = load_settings({"profiles": ["gpu"]})
    assert any("'profiles' must be a table" in w for w in settings.warnings)
    settings = load_settings({"profiles": {"gpu": "fast"}})
    assert any("profiles.gpu must be a table" in w for w in settings.warnings)
    assert "gpu" not in settings.profiles


def test_unknown_default_profile_falls_back_to_local(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNBRIDGE_PROFILE", "nowhere")
    settings = load_settings()
    assert settings.default_profile == "local"
    assert any("'nowhere'" in w and "not a known profile" in w for w in settings.warnings)


def test_init_options_that_are_not_an_object_warn(config_dir: Path) -> None:
    settings = load_settings(["profile", "x"])
    assert settings.warnings == ["initializationOptions must be an object; ignored"]
    assert settings.default_profile == "local"


def test_world_readable_config_warns(config_dir: Path) -> None:
    path = write_config(config_dir, FILE, mode=0o644)
    settings = load_settings()
    assert settings.default_profile == "team"  # still used
    assert len(settings.warnings) == 1
    assert str(path) in settings.warnings[0]
    assert "readable by other users" in settings.warnings[0]
    os.chmod(path, 0o600)
    assert load_settings().warnings == []


def test_broken_toml_warns_and_uses_defaults(config_dir: Path) -> None:
    path = write_config(config_dir, "default_profile = [unclosed\n")
    settings = load_settings()
    assert settings.default_profile == "local"
    assert len(settings.warnings) == 1
    assert str(path) in settings.warnings[0] and "cannot be read" in settings.warnings[0]


def test_unknown_profile_lookup_names_the_known_ones(config_dir: Path) -> None:
    write_config(config_dir, FILE)
    settings = load_settings()
    with pytest.raises(ConfigError) as info:
        settings.profile("gpu")
    assert "'gpu'" in info.value.message
    assert "local, other, team" in info.value.message
    assert info.value.data == {"profile": "gpu"}


def test_transcript_limit_from_file_env_and_init_options(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_settings().transcript_max_mb == DEFAULT_TRANSCRIPT_MAX_MB
    write_config(config_dir, "transcript_max_mb = 20\n")
    assert load_settings().transcript_max_mb == 20.0
    monkeypatch.setenv("RUNBRIDGE_TRANSCRIPT_MAX_MB", "30")
    assert load_settings().transcript_max_mb == 30.0
    settings = load_settings({"transcriptMaxMb": 40})
    assert (settings.transcript_max_mb, settings.warnings) == (40.0, [])
    # a bad value names its key and keeps the value from below
    settings = load_settings({"transcriptMaxMb": -1})
    assert settings.transcript_max_mb == 30.0
    assert "transcriptMaxMb" in settings.warnings[0], settings.warnings
    # the two size settings do not leak into each other
    assert settings.output_cap_mb == DEFAULT_OUTPUT_CAP_MB


def test_idle_timeout_defaults_per_backend_type(config_dir: Path) -> None:
    write_config(
        config_dir,
        """
[profiles.lab]
type = "jupyter"
url = "http://localhost:8888/"

[profiles.gpu]
type = "backendai"
""",
    )
    profiles = load_settings().profiles
    assert profiles["local"].idle_timeout_s == 24 * 60 * 60
    assert profiles["lab"].idle_timeout_s == 0  # the server culls idle kernels itself
    assert profiles["gpu"].idle_timeout_s == 0


def test_idle_timeout_from_file_and_init_options(config_dir: Path) -> None:
    write_config(
        config_dir,
        """
[profiles.local]
type = "local"
idle_timeout_minutes = 30

[profiles.lab]
type = "jupyter"
url = "http://localhost:8888/"
idle_timeout_minutes = 90
""",
    )
    settings = load_settings(
        {"profiles": {"quick": {"type": "local", "idle_timeout_minutes": 0.5}}}
    )
    assert settings.warnings == []
    assert settings.profiles["local"].idle_timeout_s == 30 * 60
    assert settings.profiles["lab"].idle_timeout_s == 90 * 60
    assert settings.profiles["quick"].idle_timeout_s == 30
    # a key of the session layer: the backend's own settings do not see it
    assert "idle_timeout_minutes" not in settings.profiles["lab"].settings
    never = load_settings({"profiles": {"local": {"type": "local", "idle_timeout_minutes": 0}}})
    assert never.profiles["local"].idle_timeout_s == 0


@pytest.mark.parametrize("bad", ["1h", -5, True, float("nan"), float("inf"), [3]])
def test_a_bad_idle_timeout_is_named_and_the_default_used(config_dir: Path, bad: Any) -> None:
    settings = load_settings(
        {"profiles": {"local": {"type": "local", "idle_timeout_minutes": bad}}}
    )
    (warning,) = settings.warnings
    assert "initializationOptions: profiles.local.idle_timeout_minutes" in warning
    assert "default used" in warning
    assert settings.profiles["local"].idle_timeout_s == 24 * 60 * 60


def test_spare_kernels_from_file_and_init_options(config_dir: Path) -> None:
    write_config(
        config_dir,
        """
[profiles.local]
type = "local"
spare_kernels = 0
""",
    )
    settings = load_settings({"profiles": {"two": {"type": "local", "spare_kernels": 2}}})
    assert settings.warnings == []
    assert settings.profiles["local"].spare_kernels == 0
    assert settings.profiles["two"].spare_kernels == 2
    assert "spare_kernels" not in settings.profiles["two"].settings
    assert load_settings().profiles["local"].spare_kernels == 0  # the file's
    assert load_settings({"profiles": {"x": {"type": "local"}}}).profiles["x"].spare_kernels == 1


@pytest.mark.parametrize("bad", ["1", -1, 9, 1.5, True, [1]])
def test_a_bad_spare_kernels_is_named_and_the_default_used(config_dir: Path, bad: Any) -> None:
    settings = load_settings({"profiles": {"local": {"type": "local", "spare_kernels": bad}}})
    (warning,) = settings.warnings
    assert "initializationOptions: profiles.local.spare_kernels" in warning
    assert "default (1) used" in warning
    assert settings.profiles["local"].spare_kernels == 1


def test_languages_and_cell_markers_from_init_options(config_dir: Path) -> None:
    settings = load_settings()
    assert "python" in settings.languages and "lua" in settings.languages
    assert settings.cell_markers == {}  # runbridge.cells.DEFAULT_MARKERS apply
    settings = load_settings(
        {"languages": ["python", "r"], "cellMarkers": {"python": r"^##", "*": r"^--\s*%%"}}
    )
    assert settings.languages == frozenset({"python", "r"})
    assert settings.cell_markers == {"python": r"^##", "*": r"^--\s*%%"}
    assert settings.warnings == []


@pytest.mark.parametrize(
    ("options", "key", "markers"),
    [
        ({"languages": "python"}, "initializationOptions: languages", {}),
        ({"languages": ["python", 3]}, "initializationOptions: languages", {}),
        ({"languages": [""]}, "initializationOptions: languages", {}),
        ({"cellMarkers": ["^#"]}, "initializationOptions: cellMarkers", {}),
        (
            {"cellMarkers": {"python": "^#(%%", "*": "^--"}},
            "initializationOptions: cellMarkers.python",
            {"python": DEFAULT_MARKERS["python"], "*": "^--"},  # its default, not "*"
        ),
        ({"cellMarkers": {"lua": "^x?"}}, "initializationOptions: cellMarkers.lua", {}),
        (
            {"cellMarkers": {"*": 5}},
            "initializationOptions: cellMarkers.*",
            {"*": DEFAULT_MARKERS["*"]},
        ),
    ],
)
def test_a_bad_language_list_or_marker_is_named_and_the_default_used(
    config_dir: Path, options: dict[str, Any], key: str, markers: dict[str, str]
) -> None:
    settings = load_settings(options)
    [warning] = settings.warnings
    assert warning.startswith(key) and "default" in warning, warning
    assert "python" in settings.languages and "lua" in settings.languages
    assert settings.cell_markers == markers
