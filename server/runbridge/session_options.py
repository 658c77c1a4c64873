"""Backend.AI session-creation options (``openSession``'s ``options``, a profile's keys).

:class:`SessionOptions` is checked once, here, when a request (or a profile) is read:
every problem is an :class:`~runbridge.errors.InvalidParams` whose ``field`` is the full
path (``options.resources.cpu``, ``options.mounts[1].target``). The same values then
merge (a request's field over the profile's, ``resources`` slot by slot), show
(:meth:`SessionOptions.to_wire`, :meth:`SessionOptions.summary`) and compare (a reopen
with other options). How they go on the wire is the Backend.AI backend's business.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Final

from runbridge.errors import InvalidParams, quote, shorten

__all__ = [
    "CLUSTER_MODES",
    "WORKDIR",
    "Mount",
    "SessionOptions",
    "amount_text",
    "mount_path",
    "parse_session_options",
]

#: The session's work folder in the container (uploads land here; cwd of runs), where
#: Backend.AI mounts a vfolder without a target, and what a relative target is under.
WORKDIR: Final = "/home/work"
CLUSTER_MODES: Final = ("single-node", "multi-node")
#: A resource slot's name: letters, digits, ``.``, ``_``, ``-`` (``cpu``, ``cuda.shares``).
_SLOT = re.compile(r"[A-Za-z0-9._-]{1,64}")
#: A slot's amount written as text: a number, optionally with a binary size suffix
#: (``"2"``, ``"0.5"``, ``"4g"``, ``"512m"``, ``"1.5GiB"``), as the manager reads it.
_AMOUNT = re.compile(r"(\d+(?:\.\d+)?|\.\d+)\s*([kmgtpe]?)(?:i?b)?", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50,
          "e": 1 << 60}  # fmt: skip
#: The wire's names of the fields, in the order the summary and conflicts use.
_WIRE_NAMES: Final = {
    "resources": "resources",
    "cluster_size": "clusterSize",
    "cluster_mode": "clusterMode",
    "mounts": "mounts",
    "scaling_group": "scalingGroup",
    "bootstrap_script": "bootstrapScript",
    "tag": "tag",
}
_MOUNT_KEYS = ("name", "target")

Amount = int | float | str


@dataclass(frozen=True)
class Mount:
    """A vfolder to mount: ``target`` None means ``/home/work/NAME``."""

    name: str
    target: str | None = None

    def to_wire(self) -> dict[str, str]:
        wire = {"name": self.name}
        if self.target is not None:
            wire["target"] = self.target
        return wire


def mount_path(mount: Mount) -> str:
    """Where the manager mounts it: no target -> ``/home/work/NAME``, a relative one
    under ``/home/work``, an absolute one as it is."""
    target = mount.target if mount.target is not None else mount.name
    return posixpath.normpath(posixpath.join(WORKDIR, target))


@dataclass(frozen=True)
class SessionOptions:
    """Every field None (or empty) when not given; see docs/protocol.md "Session options"."""

    resources: dict[str, Amount] = field(default_factory=dict)
    cluster_size: int | None = None
    cluster_mode: str | None = None
    mounts: tuple[Mount, ...] | None = None
    scaling_group: str | None = None
    bootstrap_script: str | None = None
    tag: str | None = None

    def over(self, base: SessionOptions) -> SessionOptions:
        """These options over ``base`` (a profile's): each field given here wins, except
        ``resources``, merged slot by slot."""
        merged: dict[str, Any] = {}
        for f in fields(self):
            mine = getattr(self, f.name)
            merged[f.name] = getattr(base, f.name) if mine is None else mine
        merged["resources"] = {**base.resources, **self.resources}
        return replace(self, **merged)

    def conflict_with(self, open_options: SessionOptions) -> str | None:
        """The wire name (``clusterSize``, ``resources.cpu``) of the first field these
        options set to something else than the open session has, else None."""
        for slot, amount in self.resources.items():
            if open_options.resources.get(slot) != amount:
                return f"resources.{slot}"
        for f in fields(self):
            if f.name == "resources":
                continue
            mine = getattr(self, f.name)
            if mine is not None and mine != getattr(open_options, f.name):
                return _WIRE_NAMES[f.name]
        return None

    def to_wire(self) -> dict[str, Any]:
        """The fields that are set, as the protocol names them; the bootstrap script as
        its length in characters (its text is never sent back)."""
        wire: dict[str, Any] = {}
        if self.resources:
            wire["resources"] = dict(self.resources)
        if self.cluster_size is not None:
            wire["clusterSize"] = self.cluster_size
        if self.cluster_mode is not None:
            wire["clusterMode"] = self.cluster_mode
        if self.mounts is not None:
            wire["mounts"] = [m.to_wire() for m in self.mounts]
        if self.scaling_group is not None:
            wire["scalingGroup"] = self.scaling_group
        if self.bootstrap_script is not None:
            wire["bootstrapScript"] = len(self.bootstrap_script)
        if self.tag is not None:
            wire["tag"] = self.tag
        return wire

    def summary(self) -> str:
        """One line for a status bar: ``cpu 2 · mem 4g · 2 × multi-node · sg gpu · 1 mount``."""
        parts = [f"{slot} {amount_text(slot, amount)}" for slot, amount in self.resources.items()]
        size = self.cluster_size or 1
        mode = self.cluster_mode or "single-node"
        if size > 1 or mode != "single-node":
            parts.append(f"{size} × {mode}")
        if self.scaling_group is not None:
            parts.append(f"sg {self.scaling_group}")
        if self.mounts:
            count = len(self.mounts)
            parts.append(f"{count} mount{'' if count == 1 else 's'}")
        return " · ".join(parts)


def amount_text(slot: str, amount: Amount) -> str:
    """An amount as a person writes it: memory in its largest whole unit (``4g``; also
    from the manager's byte counts, which it sends as strings), numbers short (``0.5``)."""
    if isinstance(amount, str):
        if not (slot == "mem" and amount.isdigit()):
            return amount
        amount = int(amount)
    if slot == "mem" and isinstance(amount, int):
        for suffix in "tgmk":
            unit = _UNITS[suffix]
            if amount >= unit and amount % unit == 0:
                return f"{amount // unit}{suffix}"
        return str(amount)
    return f"{amount:g}"


# -- reading ----------------------------------------------------------------------------


def _fail(message: str, path: str) -> InvalidParams:
    return InvalidParams(f"field '{path}' {message}", field=path)


def _text(value: Any, path: str, *, empty_ok: bool = False) -> str:
    if not isinstance(value, str):
        raise _fail(f"must be a string, got {type(value).__name__}", path)
    if not empty_ok and not value.strip():
        raise _fail("must not be empty", path)
    if "\x00" in value:
        raise _fail("must not contain a NUL character", path)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _fail("is not valid text (it holds a lone surrogate)", path) from None
    return value


def _amount(value: Any, path: str) -> Amount:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _fail(f'must be a number or a size such as "4g", got {type(value).__name__}', path)
    if isinstance(value, str):
        match = _AMOUNT.fullmatch(value.strip())
        if match is None:
            raise _fail(
                f'must be a number or a size such as "4g" or "512m", not {quote(value, 40)}',
                path,
            )
        if float(match.group(1)) <= 0:
            raise _fail(f"must be more than zero, not {quote(value, 40)}", path)
        return value
    if not value > 0 or value != value or value == float("inf"):
        raise _fail(f"must be more than zero, not {value!r}", path)
    return value


def _resources(value: Any, path: str) -> dict[str, Amount]:
    if not isinstance(value, dict):
        raise _fail(f"must be an object of resource slots, got {type(value).__name__}", path)
    resources: dict[str, Amount] = {}
    for slot, amount in value.items():
        slot_path = f"{path}.{shorten(str(slot), 40)}"
        if not _SLOT.fullmatch(slot):
            raise _fail(
                "is not a resource slot name (letters, digits, '.', '_', '-'; e.g. cpu, mem, "
                "cuda.shares)",
                slot_path,
            )
        resources[slot] = _amount(amount, slot_path)
    return resources


def _mounts(value: Any, path: str) -> tuple[Mount, ...]:
    if not isinstance(value, list):
        raise _fail(f"must be an array of {{name, target?}}, got {type(value).__name__}", path)
    mounts: list[Mount] = []
    names: set[str] = set()
    targets: dict[str, int] = {}
    for i, item in enumerate(value):
        item_path = f"{path}[{i}]"
        if not isinstance(item, dict):
            raise _fail(
                f"must be an object {{name, target?}}, got {type(item).__name__}", item_path
            )
        for key in item:
            if key not in _MOUNT_KEYS:
                raise _fail(
                    "is not a mount field (name, target)", f"{item_path}.{shorten(key, 40)}"
                )
        name = _text(item.get("name"), f"{item_path}.name")
        if name in names:
            raise _fail(f"mounts {quote(name, 40)} twice", f"{item_path}.name")
        names.add(name)
        target = item.get("target")
        if target is not None:
            target = _text(target, f"{item_path}.target")
            if ".." in target.split("/"):
                raise _fail(f"must not hold '..' ({quote(target, 40)})", f"{item_path}.target")
        mount = Mount(name, target)
        where = mount_path(mount)
        if where in targets:
            raise _fail(
                f"mounts at {quote(where, 60)}, as mounts[{targets[where]}] does",
                f"{item_path}.target" if target is not None else f"{item_path}.name",
            )
        targets[where] = i
        mounts.append(mount)
    return tuple(mounts)


def parse_session_options(raw: Any, path: str = "options") -> SessionOptions:
    """``openSession``'s ``options`` (the protocol's camelCase keys), checked.

    :raises InvalidParams: ``field`` is the full path of what is wrong, an unknown key
        included (a misspelt option is never silently dropped).
    """
    if not isinstance(raw, dict):
        raise _fail(f"must be an object, got {type(raw).__name__}", path)
    by_wire = {wire: name for name, wire in _WIRE_NAMES.items()}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = by_wire.get(key)
        if name is None:
            known = ", ".join(_WIRE_NAMES.values())
            raise _fail(f"is not a session option (known: {known})", f"{path}.{shorten(key, 40)}")
        if value is not None:
            values[name] = value
    where = {name: f"{path}.{_WIRE_NAMES[name]}" for name in _WIRE_NAMES}
    options = SessionOptions(
        resources=_resources(values["resources"], where["resources"])
        if "resources" in values
        else {},
        mounts=_mounts(values["mounts"], where["mounts"]) if "mounts" in values else None,
    )
    if "cluster_size" in values:
        size = values["cluster_size"]
        if isinstance(size, bool) or not isinstance(size, int):
            raise _fail(f"must be an integer, got {type(size).__name__}", where["cluster_size"])
        if size < 1:
            raise _fail(f"must be 1 or more, not {size}", where["cluster_size"])
        options = replace(options, cluster_size=size)
    if "cluster_mode" in values:
        mode = _text(values["cluster_mode"], where["cluster_mode"])
        if mode not in CLUSTER_MODES:
            raise _fail(
                f"must be 'single-node' or 'multi-node', not {quote(mode, 40)}",
                where["cluster_mode"],
            )
        options = replace(options, cluster_mode=mode)
    if "scaling_group" in values:
        group = _text(values["scaling_group"], where["scaling_group"])
        options = replace(options, scaling_group=group)
    if "tag" in values:
        options = replace(options, tag=_text(values["tag"], where["tag"]))
    if "bootstrap_script" in values:
        script = _text(values["bootstrap_script"], where["bootstrap_script"], empty_ok=True)
        options = replace(options, bootstrap_script=script)
    return options


def camel_options(settings: Mapping[str, Any]) -> dict[str, Any]:
    """A profile's snake-case option keys as the protocol's camelCase ones (the others
    left out); ``bootstrap_script`` is left out too (a file's path there)."""
    return {
        wire: settings[name]
        for name, wire in _WIRE_NAMES.items()
        if name in settings and name != "bootstrap_script"
    }


def snake_key(wire: str) -> str:
    """The profile's name of a protocol field path's first part (``clusterSize.x`` ->
    ``cluster_size``)."""
    head, dot, rest = wire.partition(".")
    bracket = head.find("[")
    tail = ""
    if bracket >= 0:
        head, tail = head[:bracket], head[bracket:]
    by_wire = {w: n for n, w in _WIRE_NAMES.items()}
    return by_wire.get(head, head) + tail + dot + rest


def refuse_options(options: SessionOptions | None, profile: str, profile_type: str) -> None:
    """:class:`InvalidParams` (``field`` ``options``) when options are given for a profile
    whose sessions have none (every type but ``backendai``)."""
    if options is not None:
        raise InvalidParams(
            f"session options are for Backend.AI profiles; profile {quote(profile, 40)} is "
            f"of type {quote(profile_type, 40)}",
            field="options",
            profile=profile,
        )
