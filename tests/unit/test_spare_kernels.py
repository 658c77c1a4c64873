"""The spare kernel pool's rules: which sessions may take a spare, how long a spare still
starting is waited for, which kernelspecs get spares (kernels stood in for)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from runbridge.backends.local import spares
from runbridge.backends.local.spares import spare_fits


def test_env_vars_read_after_start_fit_a_spare() -> None:
    assert spare_fits({})
    assert spare_fits({"API_TOKEN": "x", "RB_VAR": "1", "OMP_NUM_THREADS": "2"})


@pytest.mark.parametrize(
    "key",
    [
        "PYTHONPATH",
        "PYTHONHASHSEED",
        "LD_LIBRARY_PATH",
        "PATH",
        "HOME",
        "IPYTHONDIR",
        "JUPYTER_PATH",
        "MPLBACKEND",
    ],
)
def test_env_vars_read_at_start_need_a_fresh_kernel(key: str) -> None:
    assert not spare_fits({"RB_VAR": "1", key: "/somewhere"})


class SlowKernel:
    """Stands in for a LocalKernel whose start ends when the test says so."""

    release = asyncio.Event()

    def __init__(self, kernel_name: str, workdir: Path, *args: object, **kwargs: object) -> None:
        self.kernel_name, self.workdir, self.pid, self.stopped = kernel_name, workdir, 1, False

    async def start(self) -> None:
        await SlowKernel.release.wait()

    async def adopt(self, *args: object) -> bool:
        return True

    async def stop(self) -> None:
        self.stopped = True


@pytest.fixture
def slow_kernels(monkeypatch: pytest.MonkeyPatch) -> type[SlowKernel]:
    monkeypatch.setattr(spares, "LocalKernel", SlowKernel)
    SlowKernel.release = asyncio.Event()
    return SlowKernel


async def test_a_spare_still_starting_is_waited_for_no_longer_than_a_start(
    slow_kernels: type[SlowKernel], tmp_path: Path
) -> None:
    pool = spares.SparePool(tmp_path, 1)
    pool.replenish("python3", "python", start_s=0.3)  # a kernel start took 0.3 s
    began = time.monotonic()
    take = pool.take("python3", tmp_path / "w", {}, tmp_path / "log", lambda: None)
    taken = await asyncio.wait_for(take, 5)
    assert taken is None  # the caller starts a kernel itself
    assert 0.2 < time.monotonic() - began < 2
    slow_kernels.release.set()
    await pool.aclose()


async def test_a_spare_that_becomes_ready_while_waited_for_is_taken(
    slow_kernels: type[SlowKernel], tmp_path: Path
) -> None:
    pool = spares.SparePool(tmp_path, 1)
    pool.replenish("python3", "python", start_s=5.0)
    asyncio.get_running_loop().call_later(0.1, slow_kernels.release.set)
    taken = await pool.take("python3", tmp_path / "w", {}, tmp_path / "log", lambda: None)
    assert isinstance(taken, SlowKernel)
    assert not taken.stopped
    await pool.aclose()


async def test_no_spare_for_other_languages_or_when_off(
    slow_kernels: type[SlowKernel], tmp_path: Path
) -> None:
    slow_kernels.release.set()
    for pool, language in (
        (spares.SparePool(tmp_path, 1), "julia"),
        (spares.SparePool(tmp_path, 0), "python"),
    ):
        pool.replenish("k", language, start_s=0.1)
        await asyncio.sleep(0.05)
        assert pool.spares("k") == []
        assert await pool.take("k", tmp_path / "w", {}, tmp_path / "log", lambda: None) is None
        await pool.aclose()
