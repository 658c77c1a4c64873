"""The ``backendai`` backend: compute sessions on a Backend.AI manager.

Talks to the manager's REST and streaming API directly with httpx and websockets
(no dependency on the Backend.AI client SDK). See ``../shared/reference/backendai-api.md``.

Modules:

* :mod:`.auth` – HMAC-SHA256 request signing (``httpx.Auth`` and websocket headers)
  and API version negotiation;
* :mod:`.profile` – the ``backendai`` profile settings (config file, then the SDK's
  ``BACKEND_*`` / ``SORNA_*`` environment variables).
"""
