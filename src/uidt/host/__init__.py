"""App hosting: each app's ``JobService``s run in a worker process of their own.

- :mod:`uidt.host.apphost` — :class:`~uidt.host.apphost.AppHost`, the daemon's side;
  :mod:`uidt.host.inbound` reads a worker's messages as facts.
- :mod:`uidt.host.launcher` — how workers start (subprocess or in-process).
- :mod:`uidt.host.events` — the facts the host reports, and sinks for them.
- :mod:`uidt.host.protocol` — the framed JSON protocol (``docs/ipc.md``).
- :mod:`uidt.host.worker` — the worker (``python -m uidt.host.worker``); imports stay light;
  :mod:`uidt.host.workerconnection` its channel to the daemon, :mod:`uidt.host.workerargs` its
  command line.
"""
