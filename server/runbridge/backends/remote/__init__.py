"""What the two remote backends (``jupyter``, ``backendai``) share.

* :mod:`.profile` – reading a profile's settings (errors naming the profile and key,
  strings, booleans, seconds, http(s) URLs);
* :mod:`.connection` – the profile's one httpx client, websocket URLs, TLS and the
  websocket options both use, ``TCP_QUICKACK``;
* :mod:`.errors` – the error leaves both trees have (auth, not found, unreachable);
* :mod:`.websocket_terminal` – a terminal pumped over a websocket, given the protocol's
  frames.
"""
