"""One Jupyter-kernel run core, shared by the backends that drive a Jupyter kernel.

* :mod:`.transport`: what the core needs of a kernel connection (send an execute
  request, send an input reply, interrupt, is-alive) and the messages it is fed;
  ``local`` (ZeroMQ through jupyter_client) and ``jupyter`` (the kernel channels
  websocket) are the two transports;
* :mod:`.run`: one execute request in flight, its records and its outcome;
* :mod:`.replies`: requests answered by one reply (on shell or control), by ``msg_id``;
* :mod:`.variables`: the user's variables, from a silent run or the debugger;
* :mod:`.core`: the current run, message routing by ``parent_header.msg_id``, the
  wait for ``execute_reply`` plus ``status: idle``, input prompts, the idle grace,
  timeouts, and runs ended by a dead, restarted or closed kernel.
"""
