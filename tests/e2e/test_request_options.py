"""Secrets given to `uidt download/upload` stay secret through a real daemon and its workers.

One end-to-end run: a download whose server wants a bearer token (given by ``--header-env``,
with a cookie by ``-H``), a failing download with ``--user`` credentials, an upload with a
secret header, and an ``--insecure`` download; then every surface is searched for the secret
values: every command's output, ``uidt jobs`` (text and ``--json``), ``uidt dumpsys`` (text and
``--json``), the daemon's and workers' logs, the Task Manager page and its state feed, and the
files left next to the downloads. The store that holds them must be the user's alone.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from uidt.home.paths import resolve_paths
from uidt.testing.httpserver import Faults, ThreadedTransferTestServer
from uidt.testing.proxyserver import RecordingProxy
from uidt.transfers.jobs import TRANSFERS_APP, job_id_for

from .conftest import Daemon, clean_env

DATA = os.urandom(256 * 1024)
TOKEN = "tok-E2E-5ecret-a1b2c3"
COOKIE = "c00kie-E2E-5ecret"
PASSWORD = "pw-E2E-5ecret-77"
UPLOAD_KEY = "upk-E2E-5ecret-99"
SECRETS = [
    TOKEN,
    COOKIE,
    PASSWORD,
    UPLOAD_KEY,
    base64.b64encode(f"ann:{PASSWORD}".encode()).decode(),
]


@pytest.fixture(scope="module")
def web_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    daemon = Daemon(tmp_path_factory.mktemp("home"), extra_args=("--web", "127.0.0.1:0"))
    try:
        daemon.start()
        yield daemon
    finally:
        daemon.stop()


def _uidt(daemon: Daemon, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "uidt", "--home", str(daemon.home), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean_env(), **env},
        stdin=subprocess.DEVNULL,
        check=False,
    )


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_no_surface_shows_a_secret(web_daemon: Daemon, tmp_path: Path) -> None:
    seen: list[str] = []

    def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        done = _uidt(web_daemon, *args, **env)
        seen.extend([done.stdout, done.stderr])
        return done

    source = tmp_path / "up.bin"
    source.write_bytes(DATA)
    with ThreadedTransferTestServer() as server:
        server.add_file("/data.bin", DATA)
        server.set_faults("/data.bin", Faults(require_authorization=f"Bearer {TOKEN}"))
        ok = run(
            "download",
            server.url("/data.bin"),
            "-o",
            str(tmp_path / "ok.bin"),
            "--header-env",
            "Authorization=UIDT_TEST_TOKEN",
            "-H",
            f"Cookie: sid={COOKIE}",
            "--wait",
            UIDT_TEST_TOKEN=f"Bearer {TOKEN}",
        )
        assert ok.returncode == 0, ok.stderr
        assert (tmp_path / "ok.bin").read_bytes() == DATA
        failed = run(
            "download",
            server.url(f"/missing-{TOKEN}.bin"),
            "-o",
            str(tmp_path / "no.bin"),
            "--user",
            f"ann:{PASSWORD}",
            "--header-env",
            "X-Key=UIDT_TEST_TOKEN",
            "--wait",
            UIDT_TEST_TOKEN=TOKEN,
        )
        assert failed.returncode == 1
        assert "404" in failed.stderr
        upload_url = server.url("/put/up.bin")
        sent = run(
            "upload",
            str(source),
            upload_url,
            "--header-env",
            "X-Upload-Key=UIDT_TEST_KEY",
            "--wait",
            UIDT_TEST_KEY=UPLOAD_KEY,
        )
        assert sent.returncode == 0, sent.stderr
        insecure = run(
            "download",
            server.url("/data.bin"),
            "-o",
            str(tmp_path / "k.bin"),
            "-k",
            "--wait",
            "--header-env",
            "Authorization=UIDT_TEST_TOKEN",
            UIDT_TEST_TOKEN=f"Bearer {TOKEN}",
        )
        assert insecure.returncode == 0, insecure.stderr

    jobs = run("jobs", "--all", "--json")
    # this test's jobs (the module's daemon may hold other tests' too, whatever their order)
    ours = {job_id_for(tmp_path / name) for name in ("ok.bin", "no.bin", "k.bin")}
    ours.add(job_id_for(source, upload_url))
    listed = [
        j for j in json.loads(jobs.stdout) if j["app"] == TRANSFERS_APP and j["job_id"] in ours
    ]
    assert sorted(j["insecure"] for j in listed) == [False, False, False, True]
    assert any(j["state"] == "failed" for j in listed)
    marked = next(j for j in listed if j["insecure"])
    assert marked["notification"] is None or "INSECURE" in marked["notification"]["text"]
    assert "INSECURE" in run("jobs", "--all").stdout
    run("dumpsys")
    run("dumpsys", "--json")
    assert "INSECURE (certificate not checked)" in seen[-2]  # the notification's text

    login = web_daemon.api("POST", "/v1/web/url")["url"]
    with requests.Session() as browser:
        page = browser.get(login, timeout=30)
        state = browser.get(login.split("/login")[0] + "/api/state", timeout=30)
    assert page.status_code == 200
    assert state.status_code == 200
    seen += [page.text, state.text]

    paths = resolve_paths(web_daemon.home)
    files = [p for p in paths.log_dir.rglob("*") if p.is_file()]
    files += list(web_daemon.home.rglob("*.out"))
    files += [p for p in tmp_path.iterdir() if p.name not in ("ok.bin", "k.bin", "up.bin")]
    assert files
    seen += [p.read_text(errors="replace") for p in files]
    everything = "\n".join(seen)
    for secret in SECRETS:
        assert secret not in everything, secret
    assert "<redacted>" in everything  # the failed job's reason named the token, masked

    # The store keeps the requests' fields until the job ends: it is the user's alone.
    assert _mode(paths.store) == 0o600
    assert _mode(paths.store.parent) == 0o700
    for sidecar in paths.store.parent.glob(paths.store.name + "-*"):
        assert _mode(sidecar) == 0o600


def test_https_with_a_self_signed_ca_through_the_daemon(
    web_daemon: Daemon, self_signed_tls: ssl.SSLContext, self_signed_cert: Path, tmp_path: Path
) -> None:
    """The worker runs in the daemon's environment: the CA (by --cacert or the shell's
    SSL_CERT_FILE) must travel with the job."""
    with ThreadedTransferTestServer(ssl_context=self_signed_tls) as server:
        server.add_file("/data.bin", DATA)
        url = server.url("/data.bin")

        def get(name: str, *options: str, **env: str) -> subprocess.CompletedProcess[str]:
            dest = str(tmp_path / name)
            return _uidt(web_daemon, "download", url, "-o", dest, "--wait", *options, **env)

        untrusted = get("a.bin")
        assert untrusted.returncode == 1
        assert "certificate" in untrusted.stderr
        assert get("b.bin", "--cacert", str(self_signed_cert)).returncode == 0
        assert get("c.bin", SSL_CERT_FILE=str(self_signed_cert)).returncode == 0
        insecure = get("d.bin", "--insecure")
        assert insecure.returncode == 0
    for name in ("b.bin", "c.bin", "d.bin"):
        assert (tmp_path / name).read_bytes() == DATA
    assert not (tmp_path / "a.bin").exists()


def test_the_shells_proxy_travels_with_the_job(web_daemon: Daemon, tmp_path: Path) -> None:
    """The worker runs in the daemon's environment: the proxy the submitting shell names (and
    its password, a secret) must travel with the job, and NO_PROXY/--noproxy with it."""
    password = "prx-E2E-5ecret-31"
    with (
        ThreadedTransferTestServer() as server,
        RecordingProxy(credentials=f"ann:{password}") as proxy,
    ):
        server.add_file("/data.bin", DATA)
        url = server.url("/data.bin")
        via = proxy.url.replace("//", f"//ann:{password}@")
        out = []
        for name, options, env in [
            ("p.bin", (), {"http_proxy": via}),
            ("x.bin", ("--proxy", via), {}),
            ("n.bin", ("--noproxy", "127.0.0.1"), {"http_proxy": via}),
        ]:
            done = _uidt(
                web_daemon, "download", url, "-o", str(tmp_path / name), "--wait", *options, **env
            )
            assert done.returncode == 0, done.stderr
            out += [done.stdout, done.stderr]
        assert [r.target for r in proxy.records] == [url, url]  # the third went direct
        refused = _uidt(
            web_daemon,
            "download",
            url,
            "-o",
            str(tmp_path / "r.bin"),
            "--wait",
            "--proxy",
            proxy.url,
        )
        assert refused.returncode == 1
        assert "wants credentials (407" in refused.stderr
    for name in ("p.bin", "x.bin", "n.bin"):
        assert (tmp_path / name).read_bytes() == DATA
    out += [
        _uidt(web_daemon, *args).stdout
        for args in (("jobs", "--all", "--json"), ("dumpsys",), ("dumpsys", "--json"))
    ]
    paths = resolve_paths(web_daemon.home)
    out += [p.read_text(errors="replace") for p in paths.log_dir.rglob("*") if p.is_file()]
    assert password not in "\n".join(out)
