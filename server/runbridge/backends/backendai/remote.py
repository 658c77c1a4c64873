"""The keypair's sessions on a Backend.AI manager (``runbridge/listRemote``).

GraphQL ``compute_session_list`` at ``POST /admin/gql`` (manager 23.09 to 26.x; the 23.9
SDK's ``ComputeSession.paginated_list`` sends the same query shape), with the keypair's
``access_key`` (an admin keypair without it would see the whole domain) and the statuses
of sessions that are not terminated, comma-separated. Sessions runbridge created are
marked ``own``: their ids are in runbridge's state file (``backendai-sessions.json``),
written when runbridge creates or reopens a session by name and cleared when it
destroys it.
"""

from __future__ import annotations

import json
from typing import Any

from runbridge.backends.backendai.client import BackendAIClient
from runbridge.backends.backendai.errors import BackendAIError
from runbridge.backends.remote.name_store import NameStore
from runbridge.model import RemoteSession, parse_time
from runbridge.session_options import amount_text

#: Statuses of a session that is not terminated, as every manager since 23.09 names them.
LIVE_STATUSES = "PENDING,SCHEDULED,PREPARING,PULLING,RUNNING,RESTARTING,RUNNING_DEGRADED"
#: The manager's largest page, and how many pages are read at most.
PAGE_SIZE = 100
MAX_PAGES = 10
#: How much of a server's text a label or description keeps.
TEXT_LIMIT = 200

QUERY = """query($limit: Int!, $offset: Int!, $access_key: String, $status: String) {
  compute_session_list(limit: $limit, offset: $offset, access_key: $access_key, status: $status) {
    items { id name image status status_info created_at occupying_slots }
    total_count
  }
}"""


async def list_sessions(
    client: BackendAIClient, access_key: str, owned: NameStore
) -> list[RemoteSession]:
    own = owned.kernel_ids(client.endpoint)
    listed: list[RemoteSession] = []
    for page in range(MAX_PAGES):
        variables = {
            "limit": PAGE_SIZE,
            "offset": page * PAGE_SIZE,
            "access_key": access_key,
            "status": LIVE_STATUSES,
        }
        body = await client.call_json(
            "POST",
            "/admin/gql",
            json={"query": QUERY, "variables": variables},
            what="listing the keypair's sessions (POST /admin/gql compute_session_list)",
        )
        errors = body.get("errors")
        if errors:
            raise BackendAIError(
                f"the {client.where} refused to list sessions (GraphQL "
                f"compute_session_list): {client.quote(json.dumps(errors), 300)}",
                endpoint=client.endpoint,
            )
        data = body.get("data")
        result = data.get("compute_session_list") if isinstance(data, dict) else None
        items = result.get("items") if isinstance(result, dict) else None
        if not isinstance(items, list):
            raise BackendAIError(
                f"the {client.where} answered compute_session_list without a list of items",
                endpoint=client.endpoint,
            )
        listed.extend(_entry(client, item, own) for item in items if _has_id(item))
        total = result.get("total_count") if isinstance(result, dict) else None
        if not items or not isinstance(total, int) or (page + 1) * PAGE_SIZE >= total:
            break
    return listed


def _has_id(item: Any) -> bool:
    return isinstance(item, dict) and bool(item.get("id"))


def _entry(client: BackendAIClient, item: dict[str, Any], own: set[str]) -> RemoteSession:
    session_id = str(item["id"])
    name = client.quote(str(item.get("name") or session_id[:8]), TEXT_LIMIT)
    image = client.quote(str(item.get("image") or "?"), TEXT_LIMIT)
    status = client.quote(str(item.get("status") or "?"), 40)
    resources = _slots(item.get("occupying_slots"))
    created = parse_time(item.get("created_at"))
    described = [image, status]
    shown = _resources_text(resources)
    if shown:
        described.append(shown)
    return RemoteSession(
        id=session_id,
        label=name,
        description=" · ".join(described),
        state=status,
        last_activity=None,
        details={
            "name": name,
            "image": image,
            "status": status,
            "resources": resources,
            "createdAt": created,
        },
        own=session_id in own,
    )


def _slots(value: Any) -> dict[str, Any]:
    """``occupying_slots``: a JSON string (graphene ``JSONString``) or an object."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    if not isinstance(value, dict):
        return {}
    return {str(k)[:40]: v for k, v in value.items() if isinstance(v, (str, int, float))}


def _resources_text(resources: dict[str, Any]) -> str:
    """``cpu 1 · mem 1g`` (as a session's options summary writes them)."""
    return " · ".join(f"{slot} {amount_text(slot, amount)}" for slot, amount in resources.items())
