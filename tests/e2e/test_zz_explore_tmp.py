import asyncio, time, psutil
from pathlib import Path
from lsprotocol import types
from tests.e2e.conftest import start_daemon, plain

async def test_explore(tmp_path):
    async with start_daemon(tmp_path / "h") as d:
        t=time.monotonic()
        print(await d.request("runbridge/openSession", {"name": "a"}), time.monotonic()-t)
        for m, p in [("runbridge/listSessions", [1,2]), ("runbridge/listSessions", "junk"), ("runbridge/listSessions", 5),
                     ("runbridge/run", {"code": 1}), ("runbridge/interrupt", {"session": "ghost"})]:
            try:
                r = await d.client.protocol.send_request_async(m, p)
                print("OK", m, p, plain(r))
            except Exception as e:
                print("ERR", m, p, type(e), getattr(e, "code", None), e, getattr(e,"data",None))
        for args in ([{"session": "a", "code": "print(1)"}], [], [{}, {}], None):
            try:
                r = await d.client.workspace_execute_command_async(types.ExecuteCommandParams(command="runbridge.server.run", arguments=args))
                print("CMD OK", args, plain(r))
            except Exception as e:
                print("CMD ERR", args, type(e), getattr(e, "code", None), e)
        print(psutil.Process(d.client._server.pid).children(recursive=True))
        print([plain(m) for m in d.client.log_messages])
