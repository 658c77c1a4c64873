"""Files in a Backend.AI session's work folder (:data:`WORKDIR`), through the manager.

Paths the editor gives are relative to the work folder (or absolute inside it) and
may not leave it (checked here, before anything is sent).

* upload: ``POST /session/{name}/upload``, multipart, at most
  :data:`UPLOAD_MAX_FILES` files per request, each smaller than
  :data:`UPLOAD_MAX_BYTES` (the manager's limits, reference §4.1); every file is
  checked (:func:`plan_upload`) before anything is sent;
* download: ``POST /session/{name}/download``, at most :data:`DOWNLOAD_MAX_FILES`
  paths per request, each answered as a tar archive, several in a
  ``multipart/mixed`` answer (:func:`split_multipart`). The archives are not
  trusted: :func:`extract_tar` writes only regular files, under the download
  folder, through new temporary files, never through a link;
* listing: ``GET /session/{name}/files``.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.message
import functools
import io
import json
import os
import posixpath
import shutil
import tarfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from runbridge import confined_paths
from runbridge.backends.backendai.client import BackendAIClient
from runbridge.backends.backendai.errors import BackendAIError, BackendAIUploadRefused
from runbridge.backends.base import ProgressCallback
from runbridge.confined_paths import Place
from runbridge.errors import FileError
from runbridge.model import FileEntry, FolderEntry
from runbridge.session_options import WORKDIR

#: Upload limits of the manager (reference §4.1): files per request, and each file
#: must be smaller than this many bytes.
UPLOAD_MAX_FILES = 20
UPLOAD_MAX_BYTES = 1024 * 1024
#: Download: paths per request (each answered as a tar archive of at most 1 MiB).
DOWNLOAD_MAX_FILES = 5

#: One planned upload request: ``(local path, remote name, size)`` of each file.
UploadBatch = list[tuple[Path, str, int]]


def _session_path(name: str) -> str:
    return f"/session/{quote(name, safe='')}"


def remote_path(path: str, what: str) -> str:
    """``path`` relative to the work folder, refusing paths that leave it."""
    if posixpath.isabs(path):
        if path == WORKDIR or path.startswith(WORKDIR + "/"):
            path = posixpath.relpath(path, WORKDIR)
        else:
            raise FileError(
                f"{what} {path!r} must be relative to the session work folder {WORKDIR}",
                path=path,
            )
    norm = posixpath.normpath(path or ".")
    if norm == ".." or norm.startswith("../"):
        raise FileError(f"{what} {path!r} is outside the session work folder {WORKDIR}", path=path)
    return norm


def plan_upload(files: list[str], dest: str) -> list[UploadBatch]:
    """Check every file and split them into requests the manager accepts.

    Raises before anything is sent when a file is missing, a folder, or too large.
    """
    target = remote_path(dest or ".", "dest")
    entries: UploadBatch = []
    for name in files:
        path = Path(name).expanduser()
        if not path.is_file():
            why = "is a folder (upload files)" if path.is_dir() else "does not exist"
            raise FileError(f"upload file {name!r} {why}", path=name)
        size = path.stat().st_size
        if size >= UPLOAD_MAX_BYTES:
            raise BackendAIUploadRefused(
                f"upload file {name!r} is {size_text(size)}; the Backend.AI manager accepts "
                f"only files under {size_text(UPLOAD_MAX_BYTES)} per upload (nothing was sent)",
                path=name,
                size=size,
            )
        remote = posixpath.normpath(posixpath.join(target, path.name))
        entries.append((path, remote, size))
    return [entries[i : i + UPLOAD_MAX_FILES] for i in range(0, len(entries), UPLOAD_MAX_FILES)]


async def post_files(client: BackendAIClient, session: str, parts: list[tuple[str, bytes]]) -> None:
    """One upload request: ``(remote name, content)`` of each file."""
    await client.request(
        "POST",
        f"{_session_path(session)}/upload",
        files=[("src", (remote, data, "application/octet-stream")) for remote, data in parts],
        what=f"uploading files to session {session!r}",
        session=session,
    )


async def upload(
    client: BackendAIClient, session: str, files: list[str], dest: str, progress: ProgressCallback
) -> list[FileEntry]:
    """Copy local ``files`` into ``dest`` in the work folder; all are checked first."""
    batches = plan_upload(files, dest)
    total = sum(size for batch in batches for _, _, size in batch)
    done = 0
    uploaded: list[FileEntry] = []
    progress(0, total)
    for batch in batches:
        parts = [(remote, await asyncio.to_thread(path.read_bytes)) for path, remote, _ in batch]
        await post_files(client, session, parts)
        for _, remote, size in batch:
            done += size
            uploaded.append(FileEntry(remote, size))
        progress(done, total)
    return uploaded


async def download(
    client: BackendAIClient, session: str, files: list[str], dest: str, progress: ProgressCallback
) -> list[FileEntry]:
    """Copy ``files`` of the work folder into the local folder ``dest``."""
    if not os.path.isabs(dest):
        raise FileError(f"download dest {dest!r} must be an absolute folder path", path=dest)
    remotes = [remote_path(name, "download file") for name in files]
    target = Path(dest)
    written: list[FileEntry] = []
    done = 0
    for i in range(0, len(remotes), DOWNLOAD_MAX_FILES):
        batch = remotes[i : i + DOWNLOAD_MAX_FILES]
        try:
            response = await client.request(
                "POST",
                f"{_session_path(session)}/download",
                params={"files": batch},
                json={"files": batch},
                what=f"downloading {', '.join(batch)} from session {session!r}",
                session=session,
            )
        except BackendAIError as exc:
            if exc.status == 400:
                if "not found" in exc.message.lower():
                    raise FileError(
                        f"download: one of {', '.join(map(repr, batch))} does not exist in "
                        f"the work folder {WORKDIR} of session {session!r}",
                        path=batch[0],
                    ) from None
                raise FileError(exc.message, path=batch[0]) from None
            raise
        archives = split_multipart(response.headers.get("content-type", ""), response.content)
        if not archives:
            archives = [response.content]
        for archive in archives:
            entries = await asyncio.to_thread(extract_tar, archive, target)
            written.extend(entries)
            done += sum(e.size for e in entries)
            progress(done, done)
    return written


async def list_folder(client: BackendAIClient, session: str, path: str = ".") -> list[FolderEntry]:
    """The entries of a folder in the work folder, folders first, then by name."""
    base = posixpath.normpath(path or ".")
    entries: list[FolderEntry] = []
    for raw in await list_entries(client, session, path):
        name = str(raw.get("filename") or raw.get("name") or "")
        if not name:
            continue
        mode = str(raw.get("mode") or "")
        kind = "dir" if mode.startswith("d") else "file" if mode.startswith("-") else "other"
        size = raw.get("size")
        mtime = raw.get("mtime")
        entries.append(
            FolderEntry(
                name=name,
                path=name if base == "." else posixpath.join(base, name),
                type=kind,
                size=int(size) if isinstance(size, int | float) else 0,
                mtime=float(mtime) if isinstance(mtime, int | float) else None,
            )
        )
    entries.sort(key=lambda e: (e.type != "dir", e.name))
    return entries


async def list_entries(
    client: BackendAIClient, session: str, path: str = "."
) -> list[dict[str, Any]]:
    """The manager's raw folder listing (``GET /session/{name}/files``)."""
    remote = remote_path(path, "folder")
    body = await client.call_json(
        "GET",
        f"{_session_path(session)}/files",
        params={"path": remote},
        json={"path": remote},
        what=f"listing {remote!r} in session {session!r}",
        session=session,
    )
    files = body.get("files", [])
    if isinstance(files, str):
        try:
            files = json.loads(files)
        except ValueError:
            files = []
    return [f for f in files if isinstance(f, dict)] if isinstance(files, list) else []


def size_text(n: int) -> str:
    """``n`` bytes as a message shows it (``1.0 MiB``, ``3.5 KiB``, ``12 bytes``)."""
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MiB"
    if n >= 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n} bytes"


def split_multipart(content_type: str, body: bytes) -> list[bytes]:
    """The part bodies of a ``multipart/*`` answer (empty when it is not multipart)."""
    msg = email.message.Message()
    msg["Content-Type"] = content_type
    boundary = msg.get_param("boundary")
    if not isinstance(boundary, str) or msg.get_content_maintype() != "multipart":
        return []
    delimiter = b"--" + boundary.encode()
    parts: list[bytes] = []
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk.removeprefix(b"\r\n")
        header_end = chunk.find(b"\r\n\r\n")
        if header_end < 0:
            continue
        content = chunk[header_end + 4 :]
        parts.append(content.removesuffix(b"\r\n"))
    return parts


def extract_tar(archive: bytes, target: Path) -> list[FileEntry]:
    """Extract the regular files of a tar archive (from the manager: not trusted) under
    ``target``: each member is written through a new temporary file and renamed onto its
    name, its folders made or opened one by one; a member that climbs out of ``target``
    or whose way has a link in it (one the archive did not make either) is refused."""
    place = Place("download: archive member", f"the download folder {str(target)!r}")
    entries: list[FileEntry] = []
    try:
        return _extract_tar(archive, target, place, entries)
    except tarfile.TarError as exc:
        done = f" ({len(entries)} file(s) written before it)" if entries else ""
        raise FileError(
            f"download: the manager's answer is not a readable tar archive ({exc}){done}",
            path=str(target),
        ) from None


def _extract_tar(
    archive: bytes, target: Path, place: Place, entries: list[FileEntry]
) -> list[FileEntry]:
    with (
        confined_paths.open_dest(str(target)) as root,
        tarfile.open(fileobj=io.BytesIO(archive), mode="r:*") as tar,
    ):
        for member in tar.getmembers():
            if not member.isfile():
                continue
            parts = confined_paths.parts_of(member.name, place)
            if not parts:
                continue
            source = tar.extractfile(member)
            if source is None:
                continue
            with confined_paths.open_folder(
                root, parts[:-1], member.name, place, create=True
            ) as folder:
                size = confined_paths.write_file(
                    folder,
                    parts[-1],
                    functools.partial(shutil.copyfileobj, source),
                    member.name,
                    place,
                )
                with contextlib.suppress(OSError):
                    os.utime(
                        parts[-1], (time.time(), member.mtime), dir_fd=folder, follow_symlinks=False
                    )
            entries.append(FileEntry(str(target.joinpath(*parts)), size))
    return entries
