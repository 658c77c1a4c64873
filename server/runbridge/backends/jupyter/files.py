"""Files in a Jupyter session's folder, through the server's contents API.

Paths on the server are *contents paths*: relative to the server's
``root_dir``, ``/``-separated. ``root`` is the contents path of the session
folder; every path the editor gives is relative to it and may not leave it
(checked here, before anything is sent).

Uploads (reference §1.5):

- parent folders are created top-down (``PUT {"type": "directory"}`` makes one
  level; an existing folder is left alone);
- a file of at most :data:`CHUNK` bytes is one ``PUT`` (base64), which the
  server writes atomically itself;
- a larger file is sent in :data:`CHUNK`-sized pieces, ``chunk`` 1, 2, …, −1,
  strictly one after the other. A *new* file is written to
  ``<name>.part-runbridge`` next to the target and renamed (``PATCH``) onto it
  at the end, so it appears complete. An *existing* file is overwritten in
  place (chunk 1 replaces it, the others append): the server has no
  rename-over, and deleting the old file first would, with the server's default
  ``delete_to_trash``, leave a full copy of it in the server user's trash on
  every re-upload. The local file is read one chunk at a time, so memory stays
  flat whatever its size; reading and encoding the next chunk overlaps with
  sending the current one. A failed or cancelled upload deletes the partial
  file.

Downloads read ``GET /api/contents/<path>?type=file&format=base64&content=1``
(the whole file in one answer: fine for ordinary files, memory-hungry for
very large ones) and write a new temporary file in ``dest`` (``O_EXCL``, a random
name), then rename it onto ``dest/<name>``: a link in ``dest`` is never written
through (:mod:`runbridge.confined_paths`).

Servers without a contents API (Kernel Gateway, Enterprise Gateway) raise
:class:`~runbridge.errors.Unsupported`. Hidden files and folders (names starting
with ``.``) are refused by the server unless it runs with
``ContentsManager.allow_hidden=True``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import posixpath
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import quote

from runbridge import confined_paths
from runbridge.backends.base import ProgressCallback
from runbridge.confined_paths import Place
from runbridge.errors import FileError, RunbridgeError, Unsupported
from runbridge.model import FileEntry, FolderEntry, parse_time

if TYPE_CHECKING:
    from runbridge.backends.jupyter.client import JupyterClient

#: Bytes per upload request (before base64); files up to this size go in one request.
CHUNK = 4 * 1024 * 1024
PART_SUFFIX = ".part-runbridge"


# -- paths ------------------------------------------------------------------------


def relative(path: str, what: str) -> str:
    """``path`` normalised relative to the session folder ("" for the folder itself).

    An absolute path, or one that climbs out (``../x``), is a :class:`FileError`.
    """
    if path.startswith("/") or os.path.isabs(path):
        raise FileError(f"{what} {path!r} must be relative to the session work folder", path=path)
    norm = posixpath.normpath(path or ".")
    if norm == ".":
        return ""
    if norm == ".." or norm.startswith("../"):
        raise FileError(f"{what} {path!r} is outside the session work folder", path=path)
    return norm


def join(*parts: str) -> str:
    """Contents paths joined, without empty parts or stray slashes."""
    return "/".join(p.strip("/") for p in parts if p.strip("/"))


def api_path(contents_path: str) -> str:
    """The URL path of ``contents_path`` under ``/api/contents``."""
    quoted = quote(contents_path.strip("/"), safe="/")
    return f"/api/contents/{quoted}" if quoted else "/api/contents"


def status_of(exc: BaseException) -> int | None:
    """The HTTP status behind a mapped error, when the client recorded one."""
    status = getattr(exc, "status", None)
    if isinstance(status, int):
        return status
    data = getattr(exc, "data", None)
    if isinstance(data, dict):
        for key in ("status", "status_code", "http_status"):
            value = data.get(key)
            if isinstance(value, int):
                return value
    return None


async def require_contents(client: JupyterClient, doing: str) -> None:
    features = await client.features()
    if not getattr(features, "contents_api", False):
        raise Unsupported(
            f"the server at {client.endpoint} has no contents API (a Kernel Gateway?): "
            f"{doing} is not available"
        )


def _body(chunk: int | None, data: bytes) -> bytes:
    """A contents-API file model with ``data`` as base64, built without a JSON encoder."""
    head = b'{"type":"file","format":"base64",'
    if chunk is not None:
        head += b'"chunk":%d,' % chunk
    return head + b'"content":"' + base64.b64encode(data) + b'"}'


def _read_body(handle: Any, chunk: int | None, size: int) -> tuple[bytes, int]:
    data = handle.read(size)
    return _body(chunk, data), len(data)


# -- upload -----------------------------------------------------------------------


async def _model(client: JupyterClient, path: str, what: str, content: bool) -> dict[str, Any]:
    response = await client.request(
        "GET", api_path(path), what=what, params={"content": "1" if content else "0"}
    )
    model: dict[str, Any] = response.json()
    return model


async def _make_folders(client: JupyterClient, root: str, dest: str) -> None:
    done = ""
    for part in dest.split("/") if dest else []:
        done = join(done, part)
        try:
            await client.request(
                "PUT",
                api_path(join(root, done)),
                what=f"creating folder {done!r}",
                json={"type": "directory"},
            )
        except RunbridgeError as exc:
            if status_of(exc) in (400, 403, 409, 500):  # a file there, hidden, no permission
                raise FileError(f"cannot create folder {done!r}: {exc.message}", path=done) from exc
            raise


async def _delete_quietly(client: JupyterClient, path: str) -> None:
    """Remove a partly written file; emptied first, so a server that deletes to
    the trash (its default) keeps an empty file there, not the partial data."""

    async def remove() -> None:
        what = f"removing {path!r}"
        with contextlib.suppress(Exception):
            await client.request(
                "PUT", api_path(path), what=what, content=_body(None, b""), timeout=30.0
            )
        with contextlib.suppress(Exception):
            await client.request("DELETE", api_path(path), what=what, timeout=30.0)

    with contextlib.suppress(BaseException):
        await asyncio.shield(remove())


async def _send_file(
    client: JupyterClient,
    source: Path,
    target: str,
    exists: bool,
    done: int,
    total: int,
    progress: ProgressCallback,
) -> int:
    size = source.stat().st_size
    what = f"uploading {source.name!r}"
    if size <= CHUNK:
        data = await asyncio.to_thread(source.read_bytes)
        await client.request("PUT", api_path(target), what=what, content=_body(None, data))
        done += len(data)
        progress(done, total)
        return done
    partial = target if exists else target + PART_SUFFIX
    count = (size + CHUNK - 1) // CHUNK
    try:
        with source.open("rb") as handle:
            pending = asyncio.create_task(asyncio.to_thread(_read_body, handle, 1, CHUNK))
            try:
                for index in range(1, count + 1):
                    body, length = await pending
                    if index < count:  # read and encode the next while this one travels
                        number = index + 1 if index + 1 < count else -1
                        pending = asyncio.create_task(
                            asyncio.to_thread(_read_body, handle, number, CHUNK)
                        )
                    await client.request("PUT", api_path(partial), what=what, content=body)
                    done += length
                    progress(done, total)
            finally:
                if not pending.done():
                    pending.cancel()
                    with contextlib.suppress(BaseException):
                        await pending
        if partial != target:
            await client.request(
                "PATCH", api_path(partial), what=f"renaming {partial!r}", json={"path": target}
            )
    except BaseException:
        await _delete_quietly(client, partial)
        raise
    return done


async def upload(
    client: JupyterClient, root: str, files: list[str], dest: str, progress: ProgressCallback
) -> list[FileEntry]:
    """Copy local ``files`` into ``root/dest`` on the server; all are checked first.

    Returns each file's path relative to ``root`` and its size.
    """
    folder = relative(dest or ".", "dest")
    sources: list[Path] = []
    for name in files:
        path = Path(name).expanduser()
        if not path.is_file():
            why = "is a folder (upload files)" if path.is_dir() else "does not exist"
            raise FileError(f"upload file {name!r} {why}", path=name)
        sources.append(path)
    await require_contents(client, "upload")
    total = sum(p.stat().st_size for p in sources)
    await _make_folders(client, root, folder)
    listing = await _model(client, join(root, folder), f"listing {folder or '.'!r}", True)
    existing = {
        str(child.get("name")): str(child.get("type"))
        for child in listing.get("content") or []
        if isinstance(child, dict)
    }
    for src in sources:
        if existing.get(src.name) == "directory":
            shown = join(folder, src.name)
            raise FileError(f"upload target {shown!r} is a folder on the server", path=shown)
    done = 0
    entries: list[FileEntry] = []
    for src in sources:
        target = join(root, folder, src.name)
        before = done
        done = await _send_file(client, src, target, src.name in existing, done, total, progress)
        entries.append(FileEntry(join(folder, src.name), done - before))
    progress(total, total)
    return entries


# -- download ---------------------------------------------------------------------


async def download(
    client: JupyterClient, root: str, files: list[str], dest: str, progress: ProgressCallback
) -> list[FileEntry]:
    """Copy ``files`` (relative to ``root``) into the local folder ``dest``.

    Every file is looked up (exists, is a file) before any is fetched.
    """
    if not os.path.isabs(dest):
        raise FileError(f"download dest {dest!r} must be an absolute folder path", path=dest)
    names = [relative(name, "download file") for name in files]
    for name, rel in zip(files, names, strict=True):
        if not rel:
            raise FileError(f"download file {name!r} is the work folder itself", path=name)
    await require_contents(client, "download")
    sizes: list[int] = []
    for name, rel in zip(files, names, strict=True):
        try:
            model = await _model(client, join(root, rel), f"looking up {name!r}", False)
        except RunbridgeError as exc:
            if status_of(exc) in (400, 403, 404):
                raise FileError(
                    f"download file {name!r} does not exist in the work folder", path=name
                ) from exc
            raise
        if model.get("type") == "directory":
            raise FileError(f"download file {name!r} is a folder (download files)", path=name)
        sizes.append(int(model.get("size") or 0))
    total = sum(sizes)
    done = 0
    target_dir = Path(dest)
    entries: list[FileEntry] = []
    for name, rel in zip(files, names, strict=True):
        response = await client.request(
            "GET",
            api_path(join(root, rel)),
            what=f"downloading {name!r}",
            params={"type": "file", "format": "base64", "content": "1"},
        )
        model = response.json()
        content = model.get("content") or ""
        if model.get("format") == "base64":
            data = base64.b64decode(content)  # the server wraps lines: non-alphabet is skipped
        else:
            data = str(content).encode("utf-8")
        target = target_dir / posixpath.basename(rel)
        await asyncio.to_thread(_write_atomically, dest, target.name, data)
        done += len(data)
        progress(done, max(total, done))
        entries.append(FileEntry(str(target), len(data)))
    progress(done, done)
    return entries


def _write_atomically(dest: str, name: str, data: bytes) -> None:
    """Write ``dest/name`` through a new temporary file (never through a link in ``dest``)."""

    def fill(out: BinaryIO) -> None:
        out.write(data)

    place = Place("download file", f"the download folder {dest!r}")
    with confined_paths.open_dest(dest) as folder:
        confined_paths.write_file(folder, name, fill, name, place)


# -- listing ----------------------------------------------------------------------


async def list_folder(client: JupyterClient, root: str, path: str) -> list[FolderEntry]:
    """The entries of ``root/path``, folders first, then by name."""
    rel = relative(path or ".", "path")
    await require_contents(client, "listing files")
    try:
        model = await _model(client, join(root, rel), f"listing {path or '.'!r}", True)
    except RunbridgeError as exc:
        if status_of(exc) in (400, 403, 404):
            raise FileError(
                f"path {path!r} does not exist in the session work folder", path=path
            ) from exc
        raise
    if model.get("type") != "directory":
        raise FileError(f"path {path!r} is not a folder in the session work folder", path=path)
    entries: list[FolderEntry] = []
    for child in model.get("content") or []:
        if not isinstance(child, dict):
            continue
        name = str(child.get("name", ""))
        kind = child.get("type")
        entry_type = (
            "dir" if kind == "directory" else "file" if kind in ("file", "notebook") else "other"
        )
        size = child.get("size")
        entries.append(
            FolderEntry(
                name,
                join(rel, name),
                entry_type,
                size if isinstance(size, int) else 0,
                parse_time(child.get("last_modified")),
            )
        )
    entries.sort(key=lambda e: (e.type != "dir", e.name))
    return entries
