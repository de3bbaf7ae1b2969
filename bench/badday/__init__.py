"""``python -m bench badday``: uidt, curl, wget and aria2c on a bad day (docs/reliability.md).

Builds one lane per client (two network namespaces and a veth pair, nginx and the fault
proxy in the server's; :mod:`bench.badday.net`), then for every seed replays the same trace
(:mod:`bench.badday.trace`) to every client at the same time, one client per lane, and writes
the figures (:mod:`bench.badday.report`) and one timeline picture per client.

Options: ``--seeds N`` (default 20), ``--first-seed S`` (1), ``--size BYTES`` (64 MiB),
``--mbit R`` (80), ``--clients uidt,curl,wget,aria2c``, ``--out DIR``
(``/tmp/uidt-badday``), ``--plot-seed S`` (the first), ``--cleanup`` (remove what a crashed
run left: namespaces, processes, routes; then exit), ``--report`` (only rebuild the report
and pictures of the seeds' runs kept in ``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from types import FrameType

from bench.badday import net
from bench.badday.clients import PEERS, UIDT, missing_tools
from bench.badday.measure import finish, load, save
from bench.badday.ready import NotReadyError, SharedZero, ready_argv
from bench.badday.report import RunResult, bounds_markdown, markdown, per_run_markdown
from bench.badday.runner import CHANGED_NAME, FILE_NAME, ClientRun, sha256_of
from bench.badday.trace import MiB, Trace, make_trace

ALL_CLIENTS = [UIDT, *(p.name for p in PEERS)]


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench badday", description=__doc__)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--size", type=int, default=64 * MiB)
    parser.add_argument("--mbit", type=float, default=80.0)
    parser.add_argument("--clients", default=",".join(ALL_CLIENTS))
    parser.add_argument("--out", type=Path, default=Path("/tmp/uidt-badday"))
    parser.add_argument("--plot-seed", type=int, default=None)
    parser.add_argument("--cleanup", action="store_true")
    parser.add_argument(
        "--report", action="store_true", help="only rebuild the report from the runs in --out"
    )
    return parser.parse_args(argv)


def make_file(path: Path, size: int) -> str:
    """A file of ``size`` random bytes at ``path`` (kept if already right); its SHA-256."""
    if not path.exists() or path.stat().st_size != size:
        with open(path, "wb") as f:
            left = size
            while left:
                n = min(left, 4 * MiB)
                f.write(os.urandom(n))
                left -= n
    return sha256_of(path)


class Bench:
    def __init__(self, args: argparse.Namespace, clients: list[str]) -> None:
        self.args = args
        self.clients = clients
        self.pid = os.getpid()
        self.prefix = net.run_prefix(self.pid)
        self.base = net.subnet_base(self.pid)
        self.lanes = [net.Lane(self.prefix, i, self.base) for i in range(len(clients))]
        self.nginx: list[subprocess.Popen[bytes]] = []
        self.out: Path = args.out
        self.env = {**os.environ, net.ENV_TAG: self.prefix}

    def setup(self) -> tuple[str, str]:
        self.out.mkdir(parents=True, exist_ok=True)
        www = self.out / "www"
        www.mkdir(exist_ok=True)
        shas = (
            make_file(www / FILE_NAME, self.args.size),
            make_file(www / CHANGED_NAME, self.args.size),
        )
        # Another modification time too, so nginx gives the changed file another ETag.
        original = (www / FILE_NAME).stat().st_mtime
        os.utime(www / CHANGED_NAME, (original + 3600, original + 3600))
        net.add_guard_route(self.base)
        for lane in self.lanes:
            lane.create(self.args.mbit)
            lane_dir = self.out / "lanes" / lane.server_ns
            shutil.rmtree(lane_dir, ignore_errors=True)
            lane_dir.mkdir(parents=True)
            conf = net.write_nginx_conf(lane_dir, www)
            self.nginx.append(
                subprocess.Popen(
                    lane.in_server("nginx", "-c", str(conf), "-p", str(lane_dir)),
                    env=self.env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            lane.check_route()
        for lane in self.lanes:  # nginx accepts before any proxy forwards to it
            probe = net.sh(*lane.in_server(*ready_argv("127.0.0.1", net.NGINX_PORT)), check=False)
            if probe.returncode != 0:
                raise NotReadyError(f"nginx of {lane.server_ns}: {probe.stderr.strip()}")
        return shas

    def teardown(self) -> None:
        for proc in self.nginx:
            proc.terminate()
        for lane in self.lanes:
            lane.destroy()
        net.cleanup(self.prefix)
        net.remove_guard_route(self.base)

    def run_seed(self, seed: int, shas: tuple[str, str]) -> list[RunResult]:
        trace = make_trace(seed, self.args.size, self.args.mbit)
        seed_dir = self.out / "runs" / f"seed-{seed}"
        shutil.rmtree(seed_dir, ignore_errors=True)
        seed_dir.mkdir(parents=True)
        trace_file = seed_dir / "trace.json"
        trace_file.write_text(trace.to_json())
        results: list[RunResult] = []
        lock = threading.Lock()
        zero = SharedZero(len(self.lanes))

        def one(lane: net.Lane, client: str) -> None:
            workdir = seed_dir / client
            workdir.mkdir()
            log = workdir / "proxy.jsonl"
            proxy_argv = [
                sys.executable, "-m", "bench.badday.proxy",
                "--listen", f"{lane.server_ip}:{net.PROXY_PORT}",
                "--upstream", f"127.0.0.1:{net.NGINX_PORT}",
                "--trace", str(trace_file), "--log", str(log),
                "--path", f"/{FILE_NAME}", "--changed-path", f"/{CHANGED_NAME}",
            ]  # fmt: skip
            run = ClientRun(lane, client, trace, workdir, shas, self.prefix)
            try:
                result, timeline = run.run(proxy_argv, log, zero.wait)
            except Exception as exc:  # the harness's own failure: said, and not counted
                zero.abort()  # the other lanes stop waiting for this one
                print(f"seed {seed} {client}: harness error, not counted: {exc!r}", flush=True)
                return
            result = finish(result, timeline, trace)
            save(workdir / "result.json", result, timeline)
            with lock:
                results.append(result)

        threads = [
            threading.Thread(target=one, args=(lane, client), name=client)
            for lane, client in zip(self.lanes, self.clients, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return results


def load_results(out: Path, seeds: range) -> list[RunResult]:
    """The results of ``seeds`` kept in ``out``, their log-derived figures computed again."""
    results = []
    for seed in seeds:
        seed_dir = out / "runs" / f"seed-{seed}"
        if not (seed_dir / "trace.json").exists():
            continue
        trace = Trace.from_json((seed_dir / "trace.json").read_text())
        for path in sorted(seed_dir.glob("*/result.json")):
            result, timeline = load(path)
            results.append(finish(result, timeline, trace))
    return results


COMMAND = "Command: `"


def run_command(report_text: str) -> str | None:
    """The command a saved report names (``Command: `…```), or ``None``."""
    for line in report_text.splitlines():
        if line.startswith(COMMAND) and line.endswith("`"):
            return line[len(COMMAND) : -1]
    return None


def write_report(out: Path, results: list[RunResult], command: str, plot_seed: int) -> Path:
    text = (
        f"# A bad day: figures\n\n{COMMAND}{command}`\n\n"
        "Figures are median / worst over the traces.\n\n"
        f"{markdown(results)}\n\n## The bounds\n\n{bounds_markdown(results)}\n\n"
        f"## Every run\n\n{per_run_markdown(results)}\n"
    )
    report = out / "report.md"
    report.write_text(text)
    try:
        from bench.badday.plot import plot_seed as draw
    except ImportError:
        print("timelines: skipped, matplotlib is not installed (pip install -e '.[bench]')")
    else:
        for path in draw(out, plot_seed):
            print(f"timeline: {path}")
    return report


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    if os.geteuid() != 0:
        print("badday: skipped, it needs root to create network namespaces")
        return 0
    if args.cleanup:
        for line in net.cleanup():
            print(f"removed {line}")
        return 0
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    plot_seed = args.first_seed if args.plot_seed is None else args.plot_seed
    command = "python -m bench badday " + " ".join(sys.argv[1:] if argv is None else argv)
    if args.report:
        saved = args.out / "report.md"
        if saved.exists():  # the command that ran the seeds, not this one
            command = run_command(saved.read_text()) or command
        return report(args.out, seeds, command, plot_seed)
    why = net.namespaces_permitted()
    if why is not None:
        print(f"badday: skipped, {why}")
        return 0
    if shutil.which("nginx") is None:
        print("badday: skipped, nginx is not installed (bench/install-tools)")
        return 0
    wanted = [c for c in args.clients.split(",") if c]
    for line in missing_tools(wanted).values():
        print(line)
    clients = [c for c in wanted if c not in missing_tools(wanted)]
    bench = Bench(args, clients)

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        shas = bench.setup()
        for seed in seeds:
            started = time.monotonic()
            results = bench.run_seed(seed, shas)
            line = ", ".join(
                f"{r.client} {'ok' if r.byte_exact else 'FAIL'} "
                f"{'-' if r.wall_s is None else f'{r.wall_s:.1f}s'} x{r.sent_ratio:.2f}"
                for r in sorted(results, key=lambda r: r.client)
            )
            print(f"seed {seed} ({time.monotonic() - started:.0f}s): {line}", flush=True)
    finally:
        bench.teardown()
        signal.signal(signal.SIGTERM, previous)
    return report(args.out, seeds, command, plot_seed)


def report(out: Path, seeds: range, command: str, plot_seed: int) -> int:
    """Write the report of ``seeds`` from the runs kept in ``out``; print its table."""
    results = load_results(out, seeds)
    path = write_report(out, results, command.strip(), plot_seed)
    print(markdown(results))
    print(f"report: {path}")
    (out / "results.json").write_text(json.dumps([asdict(r) for r in results], indent=1))
    return 0
