"""The ``backendai`` backend: compute sessions on a Backend.AI manager.

Talks to the manager's REST and streaming API directly with httpx and websockets
(no dependency on the Backend.AI client SDK). See ``../shared/reference/backendai-api.md``.

Modules:

* :mod:`.backend` – the backend: one manager connection per profile, the profile
  check, sessions opened on it;
* :mod:`.profile` – the ``backendai`` profile settings (config file, then the SDK's
  ``BACKEND_*`` / ``SORNA_*`` environment variables);
* :mod:`.auth` – HMAC-SHA256 request signing (``httpx.Auth`` and websocket headers)
  and API version negotiation;
* :mod:`.client` – the profile's one HTTP client: signed REST calls, websockets,
  negotiation, a short rate limit waited out;
* :mod:`.errors` – the manager's problem JSON and transport failures as clear errors
  (keys masked);
* :mod:`.session` – one compute session's lifecycle: create-or-reuse, wait until
  running, interrupt, restart, close; runs, files and terminals handed on;
* :mod:`.runs` – a session's runs: the execute websocket (with a spare opened ahead)
  or the REST loop, input, timeouts, outcomes;
* :mod:`.console` – console records normalised to runbridge's;
* :mod:`.files` – the work folder: upload (plan, multipart), download (tar
  extraction), listing;
* :mod:`.pty` – the ``pty`` stream's frames for the shared terminal pump.
"""
