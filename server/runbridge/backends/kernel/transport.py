"""What the kernel run core needs of a kernel connection, and what it is fed.

A transport sends requests to one kernel; it feeds every message it receives from
the kernel (IOPub, shell, stdin, control) to :meth:`runbridge.backends.kernel.core.KernelCore.feed`,
in the order it received them. :class:`RunHooks` are the places where a transport may
add to a run (the ``jupyter`` backend's IOPub barrier, liveness check and interrupt
confirmation); their defaults do nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from runbridge.backends.kernel.run import KernelRun


class Message(Protocol):
    """One Jupyter message from the kernel, on one of its channels."""

    @property
    def channel(self) -> str:
        """``iopub``, ``shell``, ``stdin`` or ``control``."""

    @property
    def msg_type(self) -> str: ...

    @property
    def parent_id(self) -> str | None:
        """``parent_header.msg_id``: the request this message answers."""

    @property
    def header(self) -> dict[str, Any]: ...

    @property
    def content(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class DictMessage:
    """A message as jupyter_client deserializes it (a dict), seen as a :class:`Message`."""

    channel: str
    msg_type: str
    parent_id: str | None
    header: dict[str, Any]
    content: dict[str, Any]

    @classmethod
    def of(cls, channel: str, msg: dict[str, Any]) -> DictMessage:
        header = msg["header"]
        parent = msg.get("parent_header")
        return cls(
            channel,
            header["msg_type"],
            parent.get("msg_id") if parent else None,
            header,
            msg["content"],
        )


class KernelTransport(Protocol):
    """A connection to one kernel, as the run core uses it."""

    async def send_execute(self, msg_id: str, content: dict[str, Any]) -> None:
        """Send an ``execute_request`` with this ``msg_id`` (picked by the core, so that no
        answer can arrive before the core knows the id) and this content."""

    async def send_input_reply(self, value: str, request: Message) -> None:
        """Answer the ``input_request`` ``request`` with ``value``."""

    async def send_request(
        self, channel: str, msg_type: str, content: dict[str, Any], msg_id: str
    ) -> None:
        """Send a ``msg_type`` request with this ``msg_id`` on ``channel`` (``shell``, or
        ``control``, which ipykernel serves while a run is busy); its reply is fed to the
        core like every message."""

    async def send_interrupt(self) -> None:
        """Interrupt the kernel (an error here is the caller's to report)."""

    async def is_alive(self) -> bool:
        """Whether the kernel still runs (asked every tick while a run waits: keep it cheap)."""

    def death_message(self) -> str:
        """Why the kernel is gone, once :meth:`is_alive` said so: the failed run's message."""


class RunHooks:
    """Optional additions of a transport to each run; these defaults do nothing."""

    #: A run that has neither its reply nor any message for this long calls
    #: :meth:`check_silent_run` (and again after as long); None: never.
    silence_check_s: float | None = None

    async def before_input(self) -> None:
        """Called before the user is asked for input (after the ``input_request``)."""

    async def check_silent_run(self) -> None:
        """A run has been silent for :attr:`silence_check_s`: check the kernel (a transport
        that finds it gone ends the run through the core)."""

    async def after_run(self, run: KernelRun) -> None:
        """The run has its reply and idle (or ended otherwise); its outcome is built next."""
