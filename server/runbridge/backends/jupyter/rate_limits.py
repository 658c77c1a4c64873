"""Output a Jupyter server drops itself: its IOPub rate limits.

Jupyter Server (and Kernel Gateway, which uses its kernel websocket connection) counts
each kernel's IOPub messages and ``stream`` bytes over a window; past a limit it stops
forwarding them until the rate falls, and writes a notice on IOPub instead (a
``stream`` on ``stderr``, parented to the run, starting with the lines below). What it
dropped never reaches runbridge, so it is in no transcript either: the line of
:func:`after_notice` says so after the server's notice, and names the setting to raise.
"""

from __future__ import annotations

from typing import Any

#: The first line of each notice -> the server setting that limits it.
NOTICES = {
    "IOPub data rate exceeded.": "iopub_data_rate_limit",
    "IOPub message rate exceeded.": "iopub_msg_rate_limit",
}


def limit_of_notice(content: dict[str, Any]) -> str | None:
    """The setting whose limit the server's notice reports, when this ``stream`` content
    is such a notice."""
    text = content.get("text")
    if content.get("name") != "stderr" or not isinstance(text, str):
        return None
    for first, setting in NOTICES.items():
        if text.startswith(first):
            return setting
    return None


def after_notice(setting: str) -> str:
    """runbridge's line after the server's notice about ``setting``."""
    return (
        f"[runbridge] the Jupyter server dropped part of this run's output (its {setting}, "
        "see above); the dropped part is not in the transcript either. To get all output, "
        f"start the server with --ZMQChannelsWebsocketConnection.{setting}=1e10 "
        f"(Jupyter Server and Kernel Gateway; Jupyter Server also takes --ServerApp.{setting})\n"
    )
