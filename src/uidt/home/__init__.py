"""A uidt home: where the daemon of one user keeps its socket, store, config and logs.

Below both the app side (:mod:`uidt.app`, which finds and starts the daemon) and the daemon
(:mod:`uidt.daemon`, which owns the home):

- :mod:`uidt.home.paths` — the folders and files of a home (XDG or ``--home``), kept private.
- :mod:`uidt.home.lock` — the home's lock: one daemon per home.
- :mod:`uidt.home.logfiles` — log files opened safely and capped in size.
"""
