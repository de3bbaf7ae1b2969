"""``python -m uidt.daemon``: run the daemon in the foreground, without the ``uidt`` command line.

This is what the CLI's autostart runs: it parses its few options with :mod:`argparse` instead of
loading click and the command line's modules, so the daemon (and the worker it prestarts) starts
sooner. ``uidt daemon --foreground`` takes the same options and does the same.
"""

from __future__ import annotations

from uidt.timing import mark

mark("daemon.exec")  # before anything else is imported: when the interpreter got here

import argparse  # noqa: E402
import sys  # noqa: E402

from uidt.daemon.main import DaemonOptions, check_web, parse_sets, run  # noqa: E402
from uidt.errors import UidtError  # noqa: E402
from uidt.home.paths import resolve_paths  # noqa: E402


def parse_args(argv: list[str] | None = None) -> DaemonOptions:
    """The daemon's options from ``argv`` (``--foreground`` is accepted and implied).

    ``--background`` (what :func:`uidt.app.spawn.daemon_command` passes) keeps the process in the
    foreground all the same but logs to ``daemon.log`` alone: an autostarted daemon's stderr is
    ``daemon-start.log``, which would otherwise get every log line again, unrotated.
    """
    parser = argparse.ArgumentParser(prog="python -m uidt.daemon", description=__doc__)
    parser.add_argument("--home", default=None, metavar="DIR", help="the home (else UIDT_HOME/XDG)")
    parser.add_argument("--foreground", action="store_true", help="always so; accepted for `uidt`")
    parser.add_argument(
        "--background",
        action="store_true",
        help="log to logs/daemon.log only, not also to stderr (an autostart: stderr is a file)",
    )
    parser.add_argument("--store", dest="store_url", default=None, metavar="URL")
    parser.add_argument("--device", choices=("auto", "fake"), default="auto")
    parser.add_argument("--web", default=None, metavar="HOST:PORT")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--prestart", action="append", default=[], metavar="APP")
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=None,
        help="log lines as text (default) or one JSON object a line (the log_format setting)",
    )
    args = parser.parse_args(argv)
    if args.log_format is not None:
        args.sets.append(f"log_format={args.log_format}")
    if args.web is not None:
        check_web(args.web)
    return DaemonOptions(
        paths=resolve_paths(args.home),
        store_url=args.store_url,
        device=args.device,
        web=args.web,
        overrides=parse_sets(args.sets),
        foreground=not args.background,
        prestart=tuple(args.prestart),
    )


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``python -m uidt.daemon``."""
    try:
        run(parse_args(argv))
    except UidtError as exc:
        print(f"uidt: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
