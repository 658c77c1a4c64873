"""Stock Jupyter Server and Jupyter Kernel Gateway processes for tests and benchmarks.

Each server runs unmodified (no config file, no ``TCP_NODELAY`` patch) as a subprocess in
its own process group, on 127.0.0.1, on a port chosen once so that a killed server can be
started again at the same URL. HOME and the ``JUPYTER_*`` folders live under a temporary
folder; the token is random. Readiness is ``GET /api`` with the token answering 200.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import psutil

PYTHON = sys.executable
START_TIMEOUT = 60.0
#: Options that stop a server from dropping output of a fast-printing kernel (headless
#: clients want every byte); a server started with ``stock_rate_limits`` goes without them.
RAISED_RATE_LIMITS = (
    "--ZMQChannelsWebsocketConnection.iopub_data_rate_limit=1e10",
    "--ZMQChannelsWebsocketConnection.iopub_msg_rate_limit=1e6",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http(
    method: str, url: str, token: str | None = None, body: Any = None, timeout: float = 10
) -> tuple[int, Any]:
    """One plain HTTP call (urllib, no client library of runbridge's): (status, JSON or text)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if token is not None:
        request.add_header("Authorization", f"token {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


def _kill_all(procs: list[psutil.Process]) -> None:
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(procs, timeout=5)


class PortTaken(RuntimeError):
    """The server could not listen: its port was in use."""


class ServerProcess:
    """A server subprocess that can be killed and started again on the same port."""

    #: ``jupyter-server`` or ``kernel-gateway`` (what the server is, for messages).
    kind = ""
    #: The path that answers 200 (with the token) once the server is ready.
    ready_path = "/api"

    def __init__(
        self,
        base: Path,
        port: int | None = None,
        token: str | None = None,
        extra_args: tuple[str, ...] = (),
        *,
        stock_rate_limits: bool = False,
    ) -> None:
        #: More command-line options for the server (e.g. to force the legacy protocol).
        self.extra_args = extra_args
        #: Keep the server's own IOPub rate limits (1 MB/s of ``stream`` output, 1000
        #: messages/s over 3 s), past which it drops output and says so on IOPub.
        self.stock_rate_limits = stock_rate_limits
        self.base = base
        self.port = port or free_port()
        #: The port was picked here (free a moment ago): another may be picked if it is taken.
        self.port_picked = port is None
        self.token = token or secrets.token_hex(24)
        self.root = base / "root"
        self.home = base / "home"
        self.log_path = base / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        for folder in (self.root, self.home, base / "config", base / "data", base / "runtime"):
            folder.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        raise NotImplementedError

    @property
    def rate_limit_args(self) -> tuple[str, ...]:
        return () if self.stock_rate_limits else RAISED_RATE_LIMITS

    def environment(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("JUPYTER", "JPY_", "KG_", "RUNBRIDGE_", "PYTEST_"))
        }
        env.update(
            HOME=str(self.home),
            JUPYTER_CONFIG_DIR=str(self.base / "config"),
            JUPYTER_DATA_DIR=str(self.base / "data"),
            JUPYTER_RUNTIME_DIR=str(self.base / "runtime"),
            JUPYTER_PLATFORM_DIRS="1",
            IPYTHONDIR=str(self.home / ".ipython"),
            SHELL="/bin/sh",  # terminals: no user rc files
            PYTHONUNBUFFERED="1",
        )
        return env

    # -- life ------------------------------------------------------------------------------
    def start(self, timeout: float = START_TIMEOUT) -> str:
        """Start the server and wait until it answers ``GET /api``; returns its URL.

        A port picked here can be taken by another process (another test worker's kernel)
        before the server binds it: the first start then tries again on a new port, up to
        three times. Later starts keep the port (a killed server comes back at its URL)."""
        may_move = self.port_picked and self.starts == 0
        for _ in range(2 if may_move else 0):
            try:
                return self._start(timeout)
            except PortTaken:
                self.pick_ports()
        return self._start(timeout)

    def pick_ports(self) -> None:
        """Free ports again, for a first start whose port was taken."""
        self.port = free_port()

    def _start(self, timeout: float) -> str:
        if self.running:
            return self.url
        self.starts += 1
        log = self.log_path.open("ab")
        log.write(f"\n=== start {self.starts}: {' '.join(self.command())}\n".encode())
        log.flush()
        self.proc = subprocess.Popen(
            self.command(),
            cwd=str(self.root),
            env=self.environment(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kernels and shells go with it
        )
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                tail = self.log_tail()
                error = (
                    PortTaken
                    if "already in use" in tail.rsplit("=== start", 1)[-1]
                    else RuntimeError
                )
                raise error(
                    f"{self.kind} exited with code {self.proc.returncode} while starting:\n{tail}"
                )
            with contextlib.suppress(OSError):
                status, _ = http("GET", f"{self.url}{self.ready_path}", self.token, timeout=2)
                if status == 200:
                    return self.url
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(
                    f"{self.kind} not ready after {timeout:g} s at {self.url}:\n{self.log_tail()}"
                )
            time.sleep(0.1)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL to the server's process group and to every process it started, as a crash
        of the machine's server would end them (kernels and terminal shells run in sessions
        of their own, so the group alone does not reach them)."""
        children = self._descendants()
        self._signal_group(signal.SIGKILL)
        self._reap(10)
        _kill_all(children)
        self._wait_port_free()

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM to the process group, SIGKILL after ``grace`` seconds; then whatever it
        started and left behind."""
        if self.proc is None:
            return
        children = self._descendants()
        self._signal_group(signal.SIGTERM)
        if not self._reap(grace):
            self._signal_group(signal.SIGKILL)
            self._reap(10)
        self._signal_group(signal.SIGKILL)
        _kill_all(children)
        self._wait_port_free()

    def _descendants(self) -> list[psutil.Process]:
        if not self.running or self.proc is None:
            return []
        try:
            return list(psutil.Process(self.proc.pid).children(recursive=True))
        except psutil.Error:
            return []

    def restart(self) -> str:
        self.kill()
        return self.start()

    def _signal_group(self, sig: int) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)

    def _reap(self, timeout: float) -> bool:
        if self.proc is None:
            return True
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def _wait_port_free(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) != 0:
                    return
            time.sleep(0.05)

    def log_tail(self, chars: int = 4000) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-chars:]
        return ""

    # -- inspection (plain HTTP, to check what runbridge did on the server) ----------------
    def api(self, method: str, path: str, body: Any = None, token: str | None = "") -> Any:
        status, answer = http(
            method, f"{self.url}{path}", self.token if token == "" else token, body
        )
        if status >= 400:
            raise AssertionError(f"{method} {path}: {status} {answer}")
        return answer

    def kernels(self) -> list[dict[str, Any]]:
        return list(self.api("GET", "/api/kernels"))

    def __enter__(self) -> ServerProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class JupyterServer(ServerProcess):
    """``python -m jupyter_server`` (Jupyter Server 2.x with kernels, contents, terminals)."""

    kind = "jupyter-server"

    def command(self) -> list[str]:
        return [
            PYTHON, "-m", "jupyter_server",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--port-retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            "--allow-root",
            *self.rate_limit_args,
            *self.extra_args,
        ]  # fmt: skip


class KernelGateway(ServerProcess):
    """``python -m kernel_gateway`` (Jupyter Kernel Gateway 3.x, jupyter-websocket mode):
    kernels and kernelspecs only; no contents, no terminals."""

    kind = "kernel-gateway"

    def __init__(
        self,
        base: Path,
        port: int | None = None,
        token: str | None = None,
        list_kernels: bool = False,
        extra_args: tuple[str, ...] = (),
        *,
        stock_rate_limits: bool = False,
    ) -> None:
        super().__init__(base, port, token, extra_args, stock_rate_limits=stock_rate_limits)
        #: ``GET /api/kernels`` and ``/api/sessions`` answer 403 unless this is set (the
        #: default is off, so a client cannot find its kernels by listing them).
        self.list_kernels = list_kernels

    def command(self) -> list[str]:
        return [
            PYTHON, "-m", "kernel_gateway",
            "--KernelGatewayApp.ip=127.0.0.1",
            f"--KernelGatewayApp.port={self.port}",
            "--KernelGatewayApp.port_retries=0",
            f"--KernelGatewayApp.auth_token={self.token}",
            f"--JupyterWebsocketPersonality.list_kernels={self.list_kernels}",
            *self.rate_limit_args,
            *self.extra_args,
        ]  # fmt: skip


#: The separate venv of Jupyter Enterprise Gateway 3.3.0 (its pins clash with the project's:
#: jupyter_server<2, jupyter_client<7, pyzmq<25), made by scripts/eg-venv.
EG_VENV = Path(
    os.environ.get("RUNBRIDGE_EG_VENV", Path(__file__).resolve().parents[2] / ".venv-eg")
)
#: The user Enterprise Gateway lets start kernels in these tests (``KERNEL_USERNAME``).
EG_USER = "alice"
#: Seconds the ``slow`` kernelspec sleeps before it execs ipykernel (a remote kernel that
#: takes its time to come up).
SLOW_KERNEL_S = 4
#: Seconds the ``queued`` kernelspec's process proxy holds the launch, and with it the
#: ``POST /api/kernels`` (a remote scheduler queueing the kernel).
QUEUED_KERNEL_S = 6
#: The ``queued`` kernelspec's process proxy: EG's own LocalProcessProxy, after a wait.
_QUEUED_PROXY = f"""
import asyncio

from enterprise_gateway.services.processproxies.processproxy import LocalProcessProxy


class QueuedProcessProxy(LocalProcessProxy):
    async def launch_process(self, kernel_cmd, **kwargs):
        await asyncio.sleep({QUEUED_KERNEL_S})
        return await super().launch_process(kernel_cmd, **kwargs)
"""


def eg_python() -> Path:
    """The python of Enterprise Gateway's venv; fails (with how to make it) when missing."""
    py = EG_VENV / "bin" / "python"
    if not (EG_VENV / "bin" / "jupyter-enterprisegateway").exists():
        raise RuntimeError(
            f"Jupyter Enterprise Gateway is not installed in {EG_VENV}: run scripts/eg-venv "
            "(scripts/test does) to create that venv with jupyter-enterprise-gateway==3.3.0"
        )
    return py


class EnterpriseGateway(ServerProcess):
    """``jupyter enterprisegateway`` 3.3.0 from its own venv (``.venv-eg``): kernels and
    kernelspecs only, kernels started by the ``LocalProcessProxy`` with the project's
    python (ipykernel). ``EG_AUTHORIZED_USERS`` is :data:`EG_USER` unless ``authorized``
    says otherwise (``None``: EG's default, which refuses only root); ``EG_LIST_KERNELS``
    is on so that tests can see which kernels exist, and ``EG_INHERITED_ENVS=PATH``.
    Besides ``python3`` it has the
    kernelspec ``slow``, whose kernel sleeps :data:`SLOW_KERNEL_S` seconds before
    starting (the POST returns at once, the kernel's websocket waits), and ``queued``,
    whose process proxy (a LocalProcessProxy subclass loaded by EG from this folder's
    ``plugins``, as EG loads any process proxy) waits :data:`QUEUED_KERNEL_S` seconds
    before it launches the kernel, so that ``POST /api/kernels`` takes that long."""

    kind = "enterprise-gateway"

    def __init__(
        self,
        base: Path,
        port: int | None = None,
        token: str | None = None,
        authorized: str | None = EG_USER,
    ) -> None:
        super().__init__(base, port, token)
        self.authorized = authorized
        self.python = eg_python()
        kernels = base / "data" / "kernels"
        launch = [PYTHON, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        slow = ["/bin/sh", "-c", f"sleep {SLOW_KERNEL_S}; exec {' '.join(launch)}"]
        queued = {"process_proxy": {"class_name": "rb_queued_proxy.QueuedProcessProxy"}}
        for name, argv, metadata in (
            ("python3", launch, {}),
            ("slow", slow, {}),
            ("queued", launch, queued),
        ):
            (kernels / name).mkdir(parents=True, exist_ok=True)
            spec = {"argv": argv, "display_name": name, "language": "python", "metadata": metadata}
            (kernels / name / "kernel.json").write_text(json.dumps(spec))
        self.plugins = base / "plugins"
        self.plugins.mkdir(exist_ok=True)
        (self.plugins / "rb_queued_proxy.py").write_text(_QUEUED_PROXY)

    def environment(self) -> dict[str, str]:
        env = super().environment()
        env = {k: v for k, v in env.items() if not k.startswith("EG_")}
        env.update(EG_AUTH_TOKEN=self.token, EG_LIST_KERNELS="True", PYTHONPATH=str(self.plugins))
        # A kernel started with an ``env`` (runbridge sends one: KERNEL_USERNAME) gets only
        # these of EG's own variables: without PATH, shell commands are not found.
        env["EG_INHERITED_ENVS"] = "PATH"
        if self.authorized is not None:
            env["EG_AUTHORIZED_USERS"] = self.authorized
        return env

    def command(self) -> list[str]:
        return [
            str(self.python), "-m", "enterprise_gateway",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--port_retries=0",
            *self.extra_args,
        ]  # fmt: skip

    def kernels_started_and_shut_down(self) -> tuple[list[str], list[str]]:
        """The kernel ids EG's log says it started, and those it says it shut down."""
        text = self.log_tail(10_000_000)
        started = re.findall(r"Kernel started: ([0-9a-f-]+)", text)
        return started, re.findall(r"Kernel shutdown: ([0-9a-f-]+)", text)
