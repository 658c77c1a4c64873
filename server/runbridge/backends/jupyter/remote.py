"""What runs on a Jupyter server that runbridge did not create (``runbridge/listRemote``).

``GET /api/kernels`` is the list (in the server's order); ``GET /api/sessions``, when the
server has it, names each kernel's notebook or console path. runbridge's own are marked
``own``: kernels of server-side sessions under ``runbridge/`` (Jupyter Server) and the
kernels in the gateway state file (:mod:`.kernel_store`).
"""

from __future__ import annotations

import time
from typing import Any

from runbridge.backends.jupyter.client import JupyterClient
from runbridge.backends.jupyter.errors import JupyterError
from runbridge.backends.jupyter.kernel_store import KernelStore
from runbridge.errors import BackendError
from runbridge.model import RemoteSession, ago, parse_time

#: Top folder of runbridge's own server-side sessions (as ``session.ROOT_FOLDER``).
OWN_PREFIX = "runbridge/"
#: How much of a server's text (a path, a kernel name) a label or description keeps.
TEXT_LIMIT = 200


async def list_kernels(client: JupyterClient, store: KernelStore) -> list[RemoteSession]:
    features = await client.features()
    try:
        kernels = await client.get_json("/api/kernels", what="listing kernels (GET /api/kernels)")
        sessions: Any = []
        if features.sessions_api:
            sessions = await client.get_json(
                "/api/sessions", what="listing sessions (GET /api/sessions)"
            )
    except JupyterError as exc:
        if exc.status == 403 and features.kind == "kernel-gateway":
            if features.gateway_version:
                switch = "an Enterprise Gateway started with EG_LIST_KERNELS=True"
            else:
                switch = "a Kernel Gateway started with KG_LIST_KERNELS=True"
            raise BackendError(
                f"the {client.where} refuses to list its kernels (HTTP 403): listing needs "
                f"{switch}",
                endpoint=client.endpoint,
                profile=client.profile_name,
            ) from None
        raise
    by_kernel: dict[str, dict[str, Any]] = {}
    for item in sessions if isinstance(sessions, list) else []:
        kernel = item.get("kernel") if isinstance(item, dict) else None
        if isinstance(kernel, dict) and kernel.get("id"):
            by_kernel[str(kernel["id"])] = item
    own_kernels = store.kernel_ids(client.endpoint)
    listed = []
    now = time.time()
    for model in kernels if isinstance(kernels, list) else []:
        if not isinstance(model, dict) or not model.get("id"):
            continue
        kernel_id = str(model["id"])
        session = by_kernel.get(kernel_id)
        listed.append(_entry(client, kernel_id, model, session, own_kernels, now))
    return listed


def _entry(
    client: JupyterClient,
    kernel_id: str,
    model: dict[str, Any],
    session: dict[str, Any] | None,
    own_kernels: set[str],
    now: float,
) -> RemoteSession:
    kernel_name = client.quote(str(model.get("name") or "?"), TEXT_LIMIT)
    state = model.get("execution_state")
    state = client.quote(str(state), 40) if state else None
    connections = model.get("connections")
    connections = connections if isinstance(connections, int) else 0
    last = parse_time(model.get("last_activity"))
    details: dict[str, Any] = {"kernelName": kernel_name, "connections": connections}
    path = session.get("path") if session is not None else None
    own = kernel_id in own_kernels
    if isinstance(path, str) and path:
        own = own or path.startswith(OWN_PREFIX)
        details["path"] = client.quote(path, TEXT_LIMIT)
        kind = session.get("type") if session is not None else None
        if isinstance(kind, str):
            details["type"] = client.quote(kind, 40)
        label = details["path"]
    else:
        label = f"{kernel_name} {kernel_id[:8]}"
    parts = [kernel_name, state or "unknown"]
    parts.append(f"{connections} connection" + ("" if connections == 1 else "s"))
    if last is not None:
        parts.append(f"active {ago(max(0.0, now - last))}")
    return RemoteSession(
        id=kernel_id,
        label=label,
        description=" · ".join(parts),
        state=state,
        last_activity=last,
        details=details,
        own=own,
    )
