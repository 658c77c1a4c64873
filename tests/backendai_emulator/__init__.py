"""Backend.AI manager emulator for runbridge's tests.

In-process::

    async with Emulator(generation="old", access_key=AK, secret_key=SK) as emu:
        emu.url  # http://127.0.0.1:<port>

As a subprocess (can be killed mid-run)::

    with EmulatorProcess(generation="new", access_key=AK, secret_key=SK) as proc:
        proc.url; proc.drop_websockets(); proc.kill()

or ``python -m tests.backendai_emulator --port 0 --generation old --access-key AK --secret-key SK``
(first stdout line is the bound URL).
"""

from .process import EmulatorProcess, emulator_process
from .server import Emulator, EmulatorConfig

__all__ = ["Emulator", "EmulatorConfig", "EmulatorProcess", "emulator_process"]
