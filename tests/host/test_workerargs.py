"""The worker's command line (``uidt.host.workerargs``)."""

from __future__ import annotations

import pytest

from uidt.host.workerargs import parse_args


def test_the_command_line_is_read_without_argparse() -> None:
    args = parse_args(["--fd", "5", "--app", "a.b", "--channels=x,y", "--idle-timeout", "1.5"])
    assert (args.fd, args.app, args.channels, args.idle_timeout, args.preload) == (
        5,
        "a.b",
        "x,y",
        1.5,
        "",
    )


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["--app", "a.b"], "required: --fd"),
        (["--fd", "x", "--app", "a.b"], "not a valid int"),
        (["--fd", "3", "--app", "a.b", "--verbose"], "unknown option"),
        (["--fd", "3", "--app"], "missing value"),
    ],
)
def test_a_bad_command_line_exits_with_the_usage(
    argv: list[str], problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        parse_args(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: python -m uidt.host.worker")
    assert problem in err
