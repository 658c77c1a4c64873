"""Session names map to folder and file names one to one (``paths.safe_name``)."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runbridge import paths


def crc(name: str) -> str:
    return f"{zlib.crc32(name.encode('utf-8')):08x}"


#: Pairs that shared one folder, transcript and kernel log under the first naming
#: (unsafe characters made '_', then '-' and the name's crc32 appended).
OLD_COLLISIONS = [
    ("a/b", f"a_b-{crc('a/b')}"),  # an unsafe name, and the literal name of its folder
    ("s+|[%{t", "s[@* +t"),  # two unsafe names with one crc32 (crafted: it is 32 bits)
    ("_x", f"x-{crc('_x')}"),  # a stripped leading '_'
]

ODD_NAMES = [
    ".",
    "..",
    ".hidden",
    "~2Ehidden",
    "~",
    "~7E",
    "a~2Fb",
    "a b",
    "a\tb",
    "a\x00b",
    "ünï cødé",
    "../../etc/passwd",
    "\ud800",  # a lone surrogate (the CLI can receive one from argv)
    "\udced\udca0\udc80",  # ... whose UTF-8 bytes, smuggled as escaped bytes
    "n" * 81,
    "n" * 200,
    "n" * 201,
    "n" * 300,
    "n" * 300 + "x",
    "é" * 150,
    "é" * 150 + "x",
]


def test_distinct_names_get_distinct_folders() -> None:
    names = [name for pair in OLD_COLLISIONS for name in pair] + ODD_NAMES
    assert len(set(names)) == len(names)
    folders = [paths.safe_name(name) for name in names]
    assert len(set(folders)) == len(names), sorted(folders)


def test_a_folder_name_is_one_harmless_file_name() -> None:
    for name in [name for pair in OLD_COLLISIONS for name in pair] + ODD_NAMES:
        folder = paths.safe_name(name)
        assert folder not in ("", ".", "..")
        assert not folder.startswith(".")
        assert set(folder) <= set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-~"
        )
        # room for the transcript's rotated name under the 255-byte limit
        assert len(folder + ".jsonl.1") <= 255


def test_names_of_safe_characters_are_their_own_folder_name() -> None:
    # the names that were safe before (up to 80 characters) keep their folder
    for name in ("default", "analysis", "f-roundtrip", "A.b_c-1", "x" * 80, "x" * 200, "-"):
        assert paths.safe_name(name) == name


@given(st.text(), st.text())
def test_the_mapping_is_one_to_one(first: str, second: str) -> None:
    if first != second:
        assert paths.safe_name(first) != paths.safe_name(second)


# -- folders of the old naming -------------------------------------------------------


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, value in paths.environment_under(tmp_path).items():
        monkeypatch.setenv(name, value)
    return tmp_path


def legacy_layout(home: Path, folder: str) -> dict[Path, str]:
    """A work folder, both transcripts and a kernel log under the old name ``folder``."""
    (home / "data" / "sessions" / folder).mkdir(parents=True)
    (home / "state" / "transcripts").mkdir(parents=True, exist_ok=True)
    (home / "log" / "kernels").mkdir(parents=True, exist_ok=True)
    files = {
        home / "data" / "sessions" / folder / "kept.txt": "work",
        home / "state" / "transcripts" / f"{folder}.jsonl": "transcript",
        home / "state" / "transcripts" / f"{folder}.jsonl.1": "rotated",
        home / "log" / "kernels" / f"{folder}.log": "kernel log",
    }
    for path, text in files.items():
        path.write_text(text)
    return files


def test_the_old_folders_of_a_name_move_to_its_new_name(home: Path) -> None:
    name = "my data/2024"
    old = f"my_data_2024-{crc(name)}"
    legacy_layout(home, old)
    paths.move_legacy_files(name)
    new = paths.safe_name(name)
    assert new == "my~20data~2F2024"
    assert (paths.session_workdir(name) / "kept.txt").read_text() == "work"
    assert paths.transcript_file(name).read_text() == "transcript"
    assert paths.transcript_file(name).with_suffix(".jsonl.1").read_text() == "rotated"
    assert (home / "log" / "kernels" / f"{new}.log").read_text() == "kernel log"
    leftovers = [
        p.name
        for d in ("data/sessions", "state/transcripts", "log/kernels")
        for p in (home / d).iterdir()
        if p.name.startswith(old)
    ]
    assert leftovers == []


def test_nothing_is_replaced_followed_or_taken_from_an_open_session(home: Path) -> None:
    # the new names exist already: both stay as they are
    name = "a/b"
    old = f"a_b-{crc(name)}"
    files = legacy_layout(home, old)
    paths.session_workdir(name).mkdir(parents=True)
    paths.transcript_file(name).write_text("new")
    new_log = home / "log" / "kernels" / f"{paths.safe_name(name)}.log"
    new_log.write_text("new log")
    paths.move_legacy_files(name)
    assert paths.transcript_file(name).read_text() == "new"
    assert new_log.read_text() == "new log"
    assert list(paths.session_workdir(name).iterdir()) == []
    assert all(path.read_text() == text for path, text in files.items())
    # the old folder is the folder of an open session of that literal name: it stays
    other = "c d"
    old_other = f"c_d-{crc(other)}"
    files = legacy_layout(home, old_other)
    paths.move_legacy_files(other, open_names=["default", old_other])
    assert all(path.read_text() == text for path, text in files.items())
    assert not paths.session_workdir(other).exists()
    # old names that are symbolic links are not moved (nor what they point to)
    third = "e f"
    old_third = f"e_f-{crc(third)}"
    target = home / "elsewhere"
    target.mkdir()
    (home / "data" / "sessions" / old_third).symlink_to(target)
    (home / "state" / "transcripts" / f"{old_third}.jsonl").symlink_to(target / "t")
    paths.move_legacy_files(third)
    assert (home / "data" / "sessions" / old_third).is_symlink()
    assert (home / "state" / "transcripts" / f"{old_third}.jsonl").is_symlink()
    assert not paths.session_workdir(third).exists()
    assert not paths.transcript_file(third).exists()
