"""The ``jupyter`` backend: sessions on a Jupyter Server, Kernel Gateway or Enterprise Gateway.

REST (httpx) for kernels, sessions, contents and terminals; the kernel channels
websocket (websockets, ``v1.kernel.websocket.jupyter.org`` or the legacy JSON
protocol) for runs. See ``docs/jupyter.md``.
"""
