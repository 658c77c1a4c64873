"""``POST /admin/gql``: the one GraphQL query the emulator answers, ``compute_session_list``.

Not a GraphQL engine: it reads the query shape the 23.9 SDK's
``ComputeSession.paginated_list`` sends (``query($limit:Int!, $offset:Int!, $status:
String, ...) { compute_session_list(limit:$limit, offset:$offset, status:$status, ...)
{ items { id image ... } total_count } }``) and runbridge's listing (the same shape), and
answers as the manager's graphene schema does: ``{"data": {...}}``, or
``{"data": null, "errors": [{"message"}]}`` (HTTP 200) for a field it does not have, a
status name that is not a ``SessionStatus``, or a missing ``limit``/``offset``. Scoping
is a user keypair's: only the caller's own sessions, whatever ``access_key`` says.
Newest sessions first.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import Session

#: ``SessionStatus`` names of a 23.09 to 26.x manager.
STATUSES = frozenset(
    {
        "PENDING", "SCHEDULED", "PREPARING", "PULLING", "PREPARED", "CREATING", "RUNNING",
        "RESTARTING", "RUNNING_DEGRADED", "TERMINATING", "TERMINATED", "ERROR", "CANCELLED",
    }
)  # fmt: skip
#: ``compute_session_list``'s arguments (legacy schema).
ARGUMENTS = frozenset(
    {"limit", "offset", "filter", "order", "domain_name", "group_id", "access_key", "status"}
)
_ROOT = re.compile(r"\{\s*(\w+)\s*\(([^)]*)\)\s*\{(.*)\}\s*\}\s*$", re.S)
_ITEMS = re.compile(r"items\s*\{([^}]*)\}")
_ARG = re.compile(r"(\w+)\s*:\s*(\$\w+|\"[^\"]*\"|-?\d+|null)")


class GraphQLError(Exception):
    pass


def answer(body: Any, sessions: list[Session], access_key: str) -> dict[str, Any]:
    try:
        return {"data": _run(body, sessions, access_key)}
    except GraphQLError as e:
        return {"data": None, "errors": [{"message": str(e), "locations": None, "path": None}]}


def _run(body: Any, sessions: list[Session], access_key: str) -> dict[str, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        raise GraphQLError("Must provide query string.")
    variables = body.get("variables") or {}
    found = _ROOT.search(body["query"])
    if found is None:
        raise GraphQLError("Syntax Error: the emulator reads one root field with arguments")
    root, args_text, selection = found.groups()
    if root != "compute_session_list":
        raise GraphQLError(f"Cannot query field '{root}' on type 'Queries'.")
    args: dict[str, Any] = {}
    for key, raw in _ARG.findall(args_text):
        if key not in ARGUMENTS:
            raise GraphQLError(f"Unknown argument '{key}' on field 'Queries.{root}'.")
        if raw.startswith("$"):
            args[key] = variables.get(raw[1:])
        else:
            args[key] = json.loads(raw)
    for required in ("limit", "offset"):
        if not isinstance(args.get(required), int):
            raise GraphQLError(
                f"Field '{root}' argument '{required}' of type 'Int!' is required, "
                "but it was not provided."
            )
    if args.get("filter") is not None or args.get("order") is not None:
        raise GraphQLError("the emulator does not read 'filter' or 'order'")
    items_sel = _ITEMS.search(selection)
    fields = items_sel.group(1).split() if items_sel else []
    for name in fields:
        if name not in FIELDS:
            raise GraphQLError(f"Cannot query field '{name}' on type 'ComputeSession'.")
    wanted = None
    if args.get("status"):
        wanted = {s.strip() for s in str(args["status"]).split(",") if s.strip()}
        unknown = sorted(wanted - STATUSES)
        if unknown:
            raise GraphQLError(f"'{unknown[0]}' is not a valid SessionStatus")
    mine = [
        s
        for s in sorted(sessions, key=lambda s: s.created_at, reverse=True)
        if s.access_key == access_key and (wanted is None or s.status in wanted)
    ]
    page = mine[args["offset"] : args["offset"] + args["limit"]]
    result: dict[str, Any] = {}
    if items_sel:
        result["items"] = [{name: FIELDS[name](s) for name in fields} for s in page]
    if re.search(r"\btotal_count\b", selection):
        result["total_count"] = len(mine)
    return {root: result}


def _iso(t: float | None) -> str | None:
    return datetime.fromtimestamp(t, UTC).isoformat() if t else None


def _changed(s: Session) -> str | None:
    return s.history.get(s.status)


FIELDS: dict[str, Any] = {
    "id": lambda s: s.id,
    "name": lambda s: s.name,
    "tag": lambda s: s.tag,
    "type": lambda s: s.type.upper(),
    "image": lambda s: s.image,
    "access_key": lambda s: s.access_key,
    "status": lambda s: s.status,
    "status_info": lambda s: s.status_info,
    "status_changed": _changed,
    "created_at": lambda s: _iso(s.created_at),
    "terminated_at": lambda s: _iso(s.terminated_at),
    "result": lambda s: "UNDEFINED",
    "abusing_reports": lambda s: [],
    "occupying_slots": lambda s: json.dumps({"cpu": "1", "mem": "1073741824"}),
}
