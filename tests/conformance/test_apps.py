"""Apps (service ports) on every backend: forwarded on Backend.AI, ``Unsupported`` (saying
why) on the others, whose session is unchanged."""

from __future__ import annotations

import httpx
import pytest

from tests.conformance.conftest import UNSUPPORTED, Target
from tests.e2e.helpers import rpc_error

pytestmark = pytest.mark.timeout(90)


async def test_apps_forwarded_on_backendai_unsupported_elsewhere(target: Target) -> None:
    daemon, name = target.daemon, "c-apps"
    await daemon.request("runbridge/openSession", {"name": name})
    if target.backend != "backendai":
        for method, params in (
            ("runbridge/listApps", {"session": name}),
            ("runbridge/openApp", {"session": name, "app": "jupyter"}),
        ):
            error = await rpc_error(daemon, method, params)
            assert error.code == UNSUPPORTED, error
            assert "Backend.AI feature" in error.message, error.message
            assert f"the {target.backend} backend" in error.message, error.message
        result = await daemon.run("print('still here')", session=name)
        assert daemon.text(result["runId"]) == "still here\n"
        return
    apps = (await daemon.request("runbridge/listApps", {"session": name}))["apps"]
    assert [a["name"] for a in apps] == ["jupyter", "ttyd"], apps
    opened = await daemon.request("runbridge/openApp", {"session": name, "app": "jupyter"})
    async with httpx.AsyncClient(timeout=10) as client:
        page = await client.get(opened["url"])
    assert f"<h1>{name}:jupyter</h1>" in page.text, page.text
    await daemon.request("runbridge/closeApp", {"appId": opened["appId"]})
