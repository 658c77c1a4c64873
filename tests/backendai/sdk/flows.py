"""The official SDK's documented example flows, run inside the SDK venv (see ``sdk_venv.py``).

Usage: ``<sdk python> flows.py <flow> <session name>``; prints one JSON object on the last
stdout line. Ported from the flows in the SDK docs (``docs/client/dev/examples.rst``), not the
literal snippets (those use the invalid ``mode = "continued"``; reference Appendix D).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
from pathlib import Path

from ai.backend.client.session import AsyncSession, Session

IMAGE = "cr.backend.ai/stable/python:3.9-ubuntu20.04"


def exec_loop(kern, code, mode="query", opts=None, inputs=()):
    """The sync query loop from the examples: query, then continue/input until finished."""
    inputs = list(inputs)
    run_id, console, statuses, waits = None, [], [], []
    while True:
        result = kern.execute(run_id, code, mode=mode, opts=opts)
        run_id = result["runId"]
        console.extend(result["console"])
        statuses.append(result["status"])
        if result["status"] == "finished":
            return {
                "console": console,
                "statuses": statuses,
                "exitCode": result["exitCode"],
                "waits": waits,
            }
        if result["status"] == "waiting-input":
            waits.append(result["options"])
            mode, code = "input", inputs.pop(0)
        else:
            mode, code = "continue", ""
        opts = None


def flow_query(name):
    with Session() as api:
        kern = api.ComputeSession.get_or_create(IMAGE, name=name)
        again = api.ComputeSession.get_or_create(IMAGE, name=name)
        code = "import time\nfor i in range(3):\n    print('hello', i)\n    time.sleep(0.4)"
        out = exec_loop(kern, code)
        out["reused_same_id"] = str(kern.id) == str(again.id)
        out["api_version"] = list(api.api_version)
        info = kern.get_info()
        out["status"] = info["status"]
        kern.destroy()
        return out


def flow_input(name):
    with Session() as api:
        kern = api.ComputeSession.get_or_create(IMAGE, name=name)
        code = (
            "a = input('Your name: ')\nimport getpass\n"
            "p = getpass.getpass('Password: ')\nprint('Hello', a, len(p))"
        )
        out = exec_loop(kern, code, inputs=["Ada", "hunter2"])
        kern.destroy()
        return out


def flow_media(name):
    png = base64.b64encode(b"\x89PNG\r\n\x1a\nnotreally").decode()
    with Session() as api:
        kern = api.ComputeSession.get_or_create(IMAGE, name=name)
        code = (
            "from IPython.display import display\n"
            f"display({{'image/png': '{png}'}}, raw=True)\n"
            "display({'image/svg+xml': '<svg xmlns=\"http://www.w3.org/2000/svg\"/>'}, raw=True)\n"
            "print('done')\n1/0"
        )
        out = exec_loop(kern, code)
        out["png"] = png
        kern.destroy()
        return out


def flow_batch(name):
    work = Path.cwd()
    (work / "main.py").write_text("import helper\nprint('result', helper.VALUE)\n")
    (work / "helper.py").write_text("VALUE = 6 * 7\n")
    (work / "data" / "sub").mkdir(parents=True)
    (work / "data" / "sub" / "x.txt").write_text("nested")
    (work / "Makefile").write_text("all:\n\t@echo compiled\n")
    with Session() as api:
        kern = api.ComputeSession.get_or_create(IMAGE, name=name)
        kern.upload(["main.py", "Makefile", "helper.py", "data/sub/x.txt"])
        out = exec_loop(kern, "", mode="batch", opts={"clean": "*", "build": "*", "exec": "*"})
        listing = kern.list_files(".")
        out["listing"] = sorted(f["filename"] for f in json.loads(listing["files"]))
        dest = work / "dl"
        dest.mkdir()
        out["downloaded"] = kern.download(["main.py"], dest=str(dest))["file_names"]
        out["downloaded_text"] = (dest / "main.py").read_text()
        kern.restart()
        out["after_restart"] = exec_loop(kern, "import os; print(sorted(os.listdir('.'))[:2])")
        kern.destroy()
        return out


async def _stream_execute(name):
    async with AsyncSession() as api:
        kern = await api.ComputeSession.get_or_create(IMAGE, name=name)
        frames = []
        code = "print('streamed')\nx = input('more? ')\nprint('got', x)"
        async with kern.stream_execute(code, mode="query") as stream:
            while True:
                result = await stream.receive_json()
                frames.append(result)
                if result["status"] == "waiting-input":
                    await stream.send_str("yes")
                elif result["status"] == "finished":
                    break
        await kern.destroy()
        return {"frames": frames}


async def _pty(name):
    async with AsyncSession() as api:
        kern = await api.ComputeSession.get_or_create(IMAGE, name=name)
        buf = b""
        async with kern.stream_pty() as stream:
            cmd = base64.b64encode(b"echo pty-$((6*7))\n").decode()
            await stream.send_str(json.dumps({"type": "stdin", "chars": cmd}))
            await stream.send_str(json.dumps({"type": "ping"}))
            async with asyncio.timeout(15):
                while b"pty-42" not in buf:
                    frame = json.loads(await stream.receive_str())
                    assert frame["type"] == "out"
                    buf += base64.b64decode(frame["data"])
        await kern.destroy()
        return {"output": buf.decode(errors="replace")}


def flow_complete(name):
    """``ComputeSession.complete``: what the manager's completion endpoint answers."""
    with Session() as api:
        kern = api.ComputeSession.get_or_create(IMAGE, name=name)
        exec_loop(kern, "kernel_only_name_42 = 1")
        code = "kernel_only"
        answer = kern.complete(code, {"row": 0, "col": len(code), "line": code, "post": ""})
        kern.destroy()
        return {"answer": answer}


def flow_bench(name):
    """Trivial-run round trips with the SDK's sync execute loop (for the issue's benchmark)."""
    import time

    count = int(os.environ.get("SDK_BENCH_COUNT", "20"))
    with Session() as api:
        kern = api.ComputeSession.get_or_create(IMAGE, name=name)
        exec_loop(kern, "1")  # warm-up
        times = []
        for _ in range(count):
            t0 = time.perf_counter()
            exec_loop(kern, "print(1)")
            times.append(time.perf_counter() - t0)
        kern.destroy()
    times.sort()
    return {"count": count, "median_ms": times[len(times) // 2] * 1000, "min_ms": times[0] * 1000}


def flow_app(name):
    """``backend.ai app NAME jupyter -b 127.0.0.1:PORT`` (the SDK's own forwarder, run as
    its CLI): the page fetched through it twice; the session is left for the test."""
    import signal
    import socket
    import subprocess
    import time
    import urllib.request

    with Session() as api:
        kern = api.ComputeSession.get_or_create(IMAGE, name=name)
        listed = kern.stream_app_info() if hasattr(kern, "stream_app_info") else None
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cli = Path(sys.executable).with_name("backend.ai")
    proc = subprocess.Popen(
        [str(cli), "app", name, "jupyter", "-b", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        pages = []
        deadline = time.monotonic() + 30
        while len(pages) < 2:
            try:
                url = f"http://127.0.0.1:{port}/jupyter/tree"
                with urllib.request.urlopen(url, timeout=10) as r:
                    pages.append([r.status, r.read().decode()])
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:  # its exit is not what is compared; its output is
            proc.kill()
            out, _ = proc.communicate()
    finally:
        if proc.poll() is None:
            proc.kill()
    refused = _refused_answer(cli, name)  # ttyd: the test makes its port refuse
    return {
        "pages": pages,
        "listed": listed,
        "printed": out.decode(errors="replace"),
        "refused": refused,
    }


def _refused_answer(cli, name):
    """What a TCP client of ``backend.ai app NAME ttyd`` reads when the app's port refuses."""
    import signal
    import socket
    import subprocess
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [str(cli), "app", name, "ttyd", "-b", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = socket.create_connection(("127.0.0.1", port), timeout=10)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        with conn:
            conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            got = b""
            while chunk := conn.recv(65536):
                got += chunk
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    return got.decode(errors="replace")


def flow_create_options(name):
    """``get_or_create`` with session options (JSON in ``SDK_CREATE_OPTIONS``, as keyword
    arguments), at the API version in ``SDK_API_VERSION`` when set; then destroy."""
    from ai.backend.client.config import APIConfig

    options = json.loads(os.environ["SDK_CREATE_OPTIONS"])
    version = os.environ.get("SDK_API_VERSION")
    config = APIConfig(version=version) if version else None
    with Session(config=config) as api:
        kern = api.ComputeSession.get_or_create(IMAGE, name=name, enqueue_only=True, **options)
        out = {"api_version": list(api.api_version), "status": kern.status}
        kern.destroy()
        return out


def flow_list(name):
    """``ComputeSession.paginated_list`` (what ``backend.ai ps`` shows), and runbridge's
    own listing query sent through the SDK's ``Admin.query``."""
    with Session() as api:
        kern = api.ComputeSession.get_or_create(IMAGE, name=name)
        listed = api.ComputeSession.paginated_list(
            status="PENDING,SCHEDULED,PREPARING,PULLING,RUNNING,RESTARTING,RUNNING_DEGRADED",
            access_key=os.environ["BACKEND_ACCESS_KEY"],
        )
        query = os.environ["RUNBRIDGE_LIST_QUERY"]
        variables = json.loads(os.environ["RUNBRIDGE_LIST_VARIABLES"])
        runbridge = api.Admin.query(query, variables)
        try:
            api.ComputeSession.paginated_list(status="NOT_A_STATUS")
            bad_status = None
        except Exception as e:  # the manager's GraphQL error, as the SDK raises it
            bad_status = type(e).__name__
        kern.destroy()
        return {
            "id": str(kern.id),
            "total": listed.total_count,
            "items": listed.items,
            "runbridge": runbridge,
            "bad_status": bad_status,
        }


FLOWS = {
    "app": flow_app,
    "create_options": flow_create_options,
    "list": flow_list,
    "bench": flow_bench,
    "complete": flow_complete,
    "query": flow_query,
    "input": flow_input,
    "media": flow_media,
    "batch": flow_batch,
    "stream_execute": lambda n: asyncio.run(_stream_execute(n)),
    "pty": lambda n: asyncio.run(_pty(n)),
}

if __name__ == "__main__":
    flow, session_name = sys.argv[1], sys.argv[2]
    assert os.environ.get("BACKEND_ENDPOINT")
    try:
        result = FLOWS[flow](session_name)
    except Exception as e:  # report, so the test can show what the SDK raised
        result = {"error": type(e).__name__, "detail": str(e)[:2000]}
        if type(e).__name__ == "BackendAPIError":  # (status, reason, problem JSON)
            result["status"], result["reason"], result["data"] = e.args[:3]
    print(json.dumps(result))
