"""Starting the daemon with the user's session: systemd user units, or an XDG autostart entry.

:mod:`~uidt.autostart.units` writes the files' text, :mod:`~uidt.autostart.install` puts them
in place and asks the user's service manager to use them (``uidt service``), and
:mod:`~uidt.home.socketunit` answers the command line's one question: does a socket unit own
this home's control socket (then the command line starts no daemon of its own)?
"""
