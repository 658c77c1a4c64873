"""Record what a real ipykernel sends for a few cells, as the kernel core's unit tests replay it.

    .venv/bin/python tests/unit/record_kernel_messages.py > tests/unit/kernel_messages.json

Starts a python3 kernel through jupyter_client, runs each cell of :data:`CELLS`, and keeps
every IOPub, shell and stdin message whose parent is that cell's ``execute_request``, in
the order the kernel sent them (header dates). Prompts are answered (or cancelled by an
interrupt) as the cell says; the last cell ends the kernel's process. The output is one
JSON object: cell name -> {"code", "messages"}, each message as jupyter_client gives it
plus its ``channel``.
"""

from __future__ import annotations

import json
import queue
import sys
import time
from typing import Any

from jupyter_client.manager import start_new_kernel

#: name -> (code, what to do: "answer" a prompt with a value or None to cancel it,
#: "interrupt_after" seconds, "dies": the kernel process ends during the cell)
CELLS: dict[str, tuple[str, dict[str, Any]]] = {
    "print": ("print('hello')", {}),
    "result": ("6 * 7", {}),
    "outputs": (
        "import sys\n"
        "from IPython.display import HTML, clear_output, display\n"
        "print('out')\n"
        "print('err', file=sys.stderr)\n"
        "display(HTML('<b>hi</b>'))\n"
        "h = display('first', display_id='d1')\n"
        "h.update('second')\n"
        "clear_output(wait=True)\n"
        "1 / 0",
        {},
    ),
    "input": ("name = input('name? ')\nprint('hi', name)", {"answer": "ada"}),
    "input_cancelled": ("name = input('name? ')\nprint('hi', name)", {"answer": None}),
    "sleep_interrupted": (
        "import time\nprint('tick', flush=True)\ntime.sleep(30)",
        {"interrupt_after": 1.0},
    ),
    "dies": ("import os\nprint('bye', flush=True)\nos._exit(1)", {"dies": True}),
}


def record(km: Any, kc: Any, code: str, opts: dict[str, Any]) -> list[dict[str, Any]]:
    msg_id = kc.execute(code, allow_stdin=True, stop_on_error=False)
    kept: list[dict[str, Any]] = []
    reply = idle = interrupted = False
    started = time.monotonic()
    channels = (
        ("iopub", kc.get_iopub_msg),
        ("shell", kc.get_shell_msg),
        ("stdin", kc.get_stdin_msg),
    )
    while not (reply and idle) and time.monotonic() - started < 20:
        if opts.get("dies") and not km.is_alive():
            time.sleep(0.5)  # what was in flight
        for channel, get in channels:
            try:
                msg = get(timeout=0.01)
            except queue.Empty:
                continue
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kept.append(
                {
                    "channel": channel,
                    **{
                        k: msg[k]
                        for k in ("header", "parent_header", "metadata", "content", "msg_type")
                    },
                }
            )
            if channel == "stdin" and msg["msg_type"] == "input_request":
                if opts["answer"] is None:
                    km.interrupt_kernel()
                else:
                    kc.input(opts["answer"])
            reply = reply or channel == "shell"
            idle = idle or (
                msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle"
            )
        if opts.get("dies") and not km.is_alive() and time.monotonic() - started > 3:
            break
        if (
            opts.get("interrupt_after")
            and not interrupted
            and time.monotonic() - started > opts["interrupt_after"]
        ):
            km.interrupt_kernel()
            interrupted = True
    return sorted(kept, key=lambda m: str(m["header"]["date"]))


def main() -> None:
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        cells = {
            name: {"code": code, "messages": record(km, kc, code, opts)}
            for name, (code, opts) in CELLS.items()
        }
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    sys.stdout.write("{\n")
    for i, (name, cell) in enumerate(cells.items()):
        sys.stdout.write(
            f' {json.dumps(name)}: {{"code": {json.dumps(cell["code"])}, "messages": [\n'
        )
        lines = [f"  {json.dumps(m, default=str)}" for m in cell["messages"]]
        sys.stdout.write(",\n".join(lines) + "\n ]}" + ("," if i < len(cells) - 1 else "") + "\n")
    sys.stdout.write("}\n")


if __name__ == "__main__":
    main()
