"""Stand-alone engine: ``python -m uidt.transfers download URL DEST`` / ``upload FILE URL``.

No daemon and no job: the engine in one process, as the benchmark and the kill tests use it.
Running the same command again resumes. The result is printed as one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence

from uidt.errors import SettingsError, TransferError
from uidt.transfers.download import MiB, download
from uidt.transfers.segments import MIN_SPLIT_SIZE, check_split
from uidt.transfers.speedfloor import LOWEST_SPEED, LOWEST_SPEED_SECONDS
from uidt.transfers.upload import upload


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m uidt.transfers", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    get = commands.add_parser("download", help="download URL to DEST, resuming if possible")
    get.add_argument("url")
    get.add_argument("dest")
    get.add_argument("--sha256", help="expected SHA-256 (hex) of the whole file")
    get.add_argument(
        "--checkpoint-bytes", type=int, default=64 * MiB, help="most bytes no checkpoint names yet"
    )
    get.add_argument(
        "--checkpoint-seconds",
        type=float,
        default=5.0,
        help="longest time between durable checkpoints (also every 2 MiB, at most 4/s)",
    )
    get.add_argument(
        "--record-seconds", type=float, default=1.0, help="recorded (no fsync) checkpoint interval"
    )
    get.add_argument(
        "--lowest-speed",
        type=int,
        default=LOWEST_SPEED,
        help="bytes/s an attempt must average (0: off)",
    )
    get.add_argument(
        "--lowest-speed-seconds",
        type=float,
        default=LOWEST_SPEED_SECONDS,
        help="the window --lowest-speed is averaged over",
    )
    get.add_argument(
        "--split",
        type=lambda text: check_split(text, "--split"),
        default=1,
        help="connections for one file (aria2's --split), or auto",
    )
    get.add_argument(
        "--min-split-size",
        type=int,
        default=MIN_SPLIT_SIZE,
        help="bytes: no range smaller than this (aria2's --min-split-size)",
    )
    put = commands.add_parser("upload", help="upload FILE to URL (tus if offered, else PUT)")
    put.add_argument("source")
    put.add_argument("url")
    put.add_argument("--method", choices=["PUT", "POST"], default="PUT")
    return parser


async def _run(args: argparse.Namespace) -> dict[str, object]:
    if args.command == "download":
        got = await download(
            args.url,
            args.dest,
            sha256=args.sha256,
            checkpoint_bytes=args.checkpoint_bytes,
            checkpoint_seconds=args.checkpoint_seconds,
            record_seconds=args.record_seconds,
            lowest_speed=args.lowest_speed,
            lowest_speed_seconds=args.lowest_speed_seconds,
            split=args.split,
            min_split_size=args.min_split_size,
        )
        return {
            "path": str(got.path),
            "size": got.size,
            "sha256": got.sha256,
            "resumed_from": got.resumed_from,
            "bytes_received": got.bytes_received,
            "attempts": got.attempts,
            "connections": got.connections,
            "notices": [str(n) for n in got.notices],
        }
    sent = await upload(args.source, args.url, plain_method=args.method)
    return {
        "url": sent.url,
        "size": sent.size,
        "mode": str(sent.mode),
        "resumed_from": sent.resumed_from,
        "bytes_sent": sent.bytes_sent,
        "notices": [str(n) for n in sent.notices],
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run one transfer; 0 on success, 1 on a transfer error (message on stderr)."""
    args = _parser().parse_args(argv)
    try:
        result = asyncio.run(_run(args))
    except (TransferError, SettingsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
