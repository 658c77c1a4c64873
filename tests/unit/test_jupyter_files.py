"""The jupyter backend's contents-API file transfers, against an in-memory fake server.

The fake keeps the parts of Jupyter Server's contents API that matter here: PUT of
files (base64, with ``chunk`` appending from 2 on) and of one folder level at a
time (500 when the parent is missing), GET of models, PATCH to rename, DELETE.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from runbridge.backends.jupyter import files
from runbridge.backends.jupyter.client import JupyterClient
from runbridge.backends.jupyter.profile import JupyterProfile
from runbridge.errors import FileError, Unsupported

ROOT = "runbridge/s1"


class FakeContents:
    def __init__(self, contents_api: bool = True) -> None:
        self.contents_api = contents_api
        self.dirs: set[str] = {"", "runbridge", ROOT}
        self.files: dict[str, bytes] = {}
        self.log: list[tuple[str, str, Any]] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/api":
            return httpx.Response(200, json={"version": "2.21.1"})
        if path in ("/api/sessions", "/api/terminals"):
            return httpx.Response(200, json=[])
        if not path.startswith("/api/contents") or not self.contents_api:
            return httpx.Response(404, json={"message": "Not Found"})
        cpath = path[len("/api/contents") :].strip("/")
        body = json.loads(request.content) if request.content else None
        self.log.append((request.method, cpath, body))
        return getattr(self, request.method.lower())(cpath, body, request)

    def _parent_ok(self, cpath: str) -> bool:
        return cpath.rpartition("/")[0] in self.dirs

    def put(self, cpath: str, body: dict[str, Any], request: httpx.Request) -> httpx.Response:
        if not self._parent_ok(cpath):
            return httpx.Response(500, json={"message": "No such file or directory"})
        if body["type"] == "directory":
            self.dirs.add(cpath)
            return httpx.Response(201, json={"path": cpath})
        data = base64.b64decode(body["content"])
        chunk = body.get("chunk")
        if chunk is None or chunk == 1:
            self.files[cpath] = data
        else:
            self.files[cpath] = self.files.get(cpath, b"") + data
        return httpx.Response(201, json={"path": cpath, "size": len(self.files[cpath])})

    def get(self, cpath: str, body: Any, request: httpx.Request) -> httpx.Response:
        if cpath in self.dirs:
            children = [
                {"name": p.rpartition("/")[2], "type": "directory", "size": None,
                 "last_modified": "2026-01-02T03:04:05.5Z"}
                for p in self.dirs if p and p.rpartition("/")[0] == cpath
            ] + [
                {"name": p.rpartition("/")[2], "type": "file", "size": len(d),
                 "last_modified": "2026-01-02T03:04:05Z"}
                for p, d in self.files.items() if p.rpartition("/")[0] == cpath
            ]  # fmt: skip
            return httpx.Response(200, json={"type": "directory", "content": children})
        if cpath in self.files:
            data = self.files[cpath]
            model: dict[str, Any] = {"type": "file", "size": len(data), "content": None}
            if request.url.params.get("content") == "1":
                encoded = base64.encodebytes(data).decode()  # with newlines, like the server
                model.update(content=encoded, format="base64")
            return httpx.Response(200, json=model)
        return httpx.Response(404, json={"message": f"No such file or directory: {cpath}"})

    def patch(self, cpath: str, body: dict[str, Any], request: httpx.Request) -> httpx.Response:
        new = body["path"]
        if new in self.files:
            return httpx.Response(409, json={"message": "File already exists"})
        self.files[new] = self.files.pop(cpath)
        return httpx.Response(200, json={"path": new})

    def delete(self, cpath: str, body: Any, request: httpx.Request) -> httpx.Response:
        self.files.pop(cpath, None)
        return httpx.Response(204)


def make_client(fake: FakeContents) -> JupyterClient:
    profile = JupyterProfile(name="t", url="http://jupyter.test", token="tok")
    return JupyterClient(profile, transport=httpx.MockTransport(fake.handler))


def put_chunks(fake: FakeContents) -> list[Any]:
    return [b.get("chunk") for m, _, b in fake.log if m == "PUT" and b["type"] == "file"]


async def test_upload_small_and_chunked_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(files, "CHUNK", 1000)
    small = tmp_path / "small.txt"
    small.write_bytes(b"hello\n")
    big = tmp_path / "big.bin"
    payload = bytes(range(256)) * 10  # 2560 bytes: 3 chunks
    big.write_bytes(payload)
    fake = FakeContents()
    seen: list[tuple[int, int]] = []
    entries = await files.upload(
        make_client(fake),
        ROOT,
        [str(small), str(big)],
        "data/sub",
        lambda d, t: seen.append((d, t)),
    )
    assert [(e.path, e.size) for e in entries] == [
        ("data/sub/small.txt", 6),
        ("data/sub/big.bin", 2560),
    ]
    assert fake.files[f"{ROOT}/data/sub/big.bin"] == payload
    assert fake.files[f"{ROOT}/data/sub/small.txt"] == b"hello\n"
    assert f"{ROOT}/data/sub/big.bin{files.PART_SUFFIX}" not in fake.files
    # folders parent-first; a small file in one plain PUT; chunks 1, 2, -1 in order
    dirs = [p for m, p, b in fake.log if m == "PUT" and b["type"] == "directory"]
    assert dirs == [f"{ROOT}/data", f"{ROOT}/data/sub"]
    assert put_chunks(fake) == [None, 1, 2, -1]
    assert seen[-1] == (2566, 2566)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


async def test_upload_overwrites_in_place_and_never_sends_a_lone_last_chunk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(files, "CHUNK", 1000)
    fake = FakeContents()
    fake.files[f"{ROOT}/f.bin"] = b"old" * 1000
    src = tmp_path / "f.bin"
    src.write_bytes(b"n" * 1500)
    await files.upload(make_client(fake), ROOT, [str(src)], ".", lambda d, t: None)
    assert fake.files[f"{ROOT}/f.bin"] == b"n" * 1500
    assert put_chunks(fake) == [1, -1]
    assert not [m for m, _, _ in fake.log if m == "DELETE"]  # nothing sent to the trash
    src.write_bytes(b"x" * 1000)  # exactly one chunk: a plain PUT
    fake.log.clear()
    await files.upload(make_client(fake), ROOT, [str(src)], "", lambda d, t: None)
    assert put_chunks(fake) == [None]
    assert fake.files[f"{ROOT}/f.bin"] == b"x" * 1000


@pytest.mark.parametrize("dest", ["../x", "/abs", "a/../../b", ".."])
async def test_upload_refuses_dest_outside_before_sending(tmp_path: Path, dest: str):
    src = tmp_path / "a.txt"
    src.write_text("a")
    fake = FakeContents()
    with pytest.raises(FileError):
        await files.upload(make_client(fake), ROOT, [str(src)], dest, lambda d, t: None)
    assert fake.log == []


async def test_upload_checks_every_file_first(tmp_path: Path):
    good = tmp_path / "a.txt"
    good.write_text("a")
    fake = FakeContents()
    with pytest.raises(FileError, match="does not exist"):
        await files.upload(
            make_client(fake), ROOT, [str(good), str(tmp_path / "nope")], ".", lambda d, t: None
        )
    with pytest.raises(FileError, match="is a folder"):
        await files.upload(make_client(fake), ROOT, [str(tmp_path)], ".", lambda d, t: None)
    assert fake.log == []


async def test_failed_upload_removes_the_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(files, "CHUNK", 1000)
    src = tmp_path / "big.bin"
    src.write_bytes(b"z" * 3500)
    fake = FakeContents()

    def progress(done: int, total: int) -> None:
        if done >= 2000:
            raise RuntimeError("cancelled")

    with pytest.raises(RuntimeError):
        await files.upload(make_client(fake), ROOT, [str(src)], ".", progress)
    assert not any(p.startswith(f"{ROOT}/big.bin") for p in fake.files)
    assert fake.log[-1][0] == "DELETE"


async def test_gateway_without_contents_is_unsupported(tmp_path: Path):
    src = tmp_path / "a.txt"
    src.write_text("a")
    client = make_client(FakeContents(contents_api=False))
    with pytest.raises(Unsupported, match="no contents API"):
        await files.upload(client, ROOT, [str(src)], ".", lambda d, t: None)
    with pytest.raises(Unsupported):
        await files.list_folder(client, ROOT, ".")
    with pytest.raises(Unsupported):
        await files.download(client, ROOT, ["a.txt"], str(tmp_path), lambda d, t: None)


async def test_download_and_errors(tmp_path: Path):
    fake = FakeContents()
    fake.dirs.add(f"{ROOT}/out")
    fake.files[f"{ROOT}/out/r.bin"] = bytes(range(256)) * 100
    client = make_client(fake)
    entries = await files.download(client, ROOT, ["out/r.bin"], str(tmp_path), lambda d, t: None)
    assert entries[0].path == str(tmp_path / "r.bin")
    assert (tmp_path / "r.bin").read_bytes() == bytes(range(256)) * 100
    assert not list(tmp_path.glob("*.part-runbridge"))
    for bad, match in [
        ("nope.txt", "does not exist"),
        ("out", "is a folder"),
        ("../x", "outside"),
        ("/etc/passwd", "relative"),
    ]:
        with pytest.raises(FileError, match=match):
            await files.download(client, ROOT, ["out/r.bin", bad], str(tmp_path), lambda d, t: None)
    with pytest.raises(FileError, match="absolute"):
        await files.download(client, ROOT, ["out/r.bin"], "relative/dir", lambda d, t: None)


async def test_download_never_writes_through_a_link_in_dest(tmp_path: Path):
    """Links in the local dest (at the name a download wrote its partial file to, or at
    the file's own name) are replaced or avoided, never written through."""
    fake = FakeContents()
    fake.files[f"{ROOT}/a.bin"] = b"from the server"
    fake.files[f"{ROOT}/b.bin"] = b"also from the server"
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "a.bin.part-runbridge").symlink_to(victim)
    (dest / "b.bin").symlink_to(victim)
    client = make_client(fake)
    await files.download(client, ROOT, ["a.bin", "b.bin"], str(dest), lambda d, t: None)
    assert victim.read_text() == "precious"
    assert (dest / "a.bin").read_bytes() == b"from the server"
    assert not (dest / "b.bin").is_symlink()
    assert (dest / "b.bin").read_bytes() == b"also from the server"


async def test_list_folder_sorted_folders_first():
    fake = FakeContents()
    fake.dirs.update({f"{ROOT}/b_dir", f"{ROOT}/z_dir"})
    fake.files[f"{ROOT}/a.txt"] = b"abc"
    entries = await files.list_folder(make_client(fake), ROOT, ".")
    assert [(e.name, e.path, e.type) for e in entries] == [
        ("b_dir", "b_dir", "dir"),
        ("z_dir", "z_dir", "dir"),
        ("a.txt", "a.txt", "file"),
    ]
    assert entries[2].size == 3 and entries[2].mtime == pytest.approx(1767323045.0)
    with pytest.raises(FileError, match="does not exist"):
        await files.list_folder(make_client(fake), ROOT, "missing")
    with pytest.raises(FileError, match="not a folder"):
        await files.list_folder(make_client(fake), ROOT, "a.txt")
    with pytest.raises(FileError, match="outside"):
        await files.list_folder(make_client(fake), ROOT, "../..")


def test_paths_are_quoted():
    assert files.api_path("runbridge/s 1/a#b?.txt") == "/api/contents/runbridge/s%201/a%23b%3F.txt"
    assert files.relative("./a//b/", "dest") == "a/b"
    assert files.relative(".", "dest") == ""
