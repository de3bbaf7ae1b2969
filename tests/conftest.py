"""Shared test fixtures."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import ssl
import subprocess
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from uidt.testing.postgres import ClusterUnavailable, TemporaryCluster
from uidt.testing.tidyloop import TidyEventLoop

#: Variables that configure the test run itself (e.g. ``UIDT_TEST_POSTGRES_DSN``) are kept.
TEST_CONFIGURATION_PREFIX = "UIDT_TEST_"


PROXY_VARIABLES = frozenset({"http_proxy", "https_proxy", "all_proxy", "no_proxy"})


def pytest_configure(config: pytest.Config) -> None:
    """Ctrl-C reaches the commands the tests start, however the suite itself was started.

    A shell without job control starts a background command (``pytest … &``, ``nohup``, some
    CI runners) with SIGINT ignored, and an ignored signal stays ignored across ``exec``: every
    ``uidt`` a test started then ignored the SIGINT of the Ctrl-C tests, which waited out their
    deadlines (60 s each) and failed. A handled signal is reset to the default across ``exec``
    instead, so the commands get Python's usual KeyboardInterrupt.
    """
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Every async test runs on a :class:`TidyEventLoop`."""
    return {"tidy": TidyEventLoop}


@pytest.fixture(autouse=True)
def _clean_uidt_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts without the developer's ``UIDT_*`` settings (``UIDT_HOME``, ...) and
    proxy variables (a machine's proxy would otherwise carry the loopback tests' requests)."""
    for name in list(os.environ):
        if (
            name.startswith("UIDT_") and not name.startswith(TEST_CONFIGURATION_PREFIX)
        ) or name.lower() in PROXY_VARIABLES:
            monkeypatch.delenv(name)


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``XDG_CONFIG_HOME`` and the systemd user unit directory in ``tmp_path`` (no user manager
    runs: ``uidt service`` falls back as it would; tests/autostart adds a stand-in manager)."""
    config = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    monkeypatch.setenv("UIDT_SYSTEMD_USER_DIR", str(config / "systemd" / "user"))
    monkeypatch.setenv("UIDT_SYSTEMCTL", "")
    return config


@pytest.fixture(scope="session")
def self_signed_cert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh self-signed certificate for 127.0.0.1 (``cert.pem``; ``key.pem`` beside it)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: no certificate for the HTTPS tests")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    command = ["openssl", "req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1"]
    command += ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    command += ["-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)]
    subprocess.run(
        command,
        check=True,
        capture_output=True,
    )
    return cert


@pytest.fixture
def self_signed_tls(self_signed_cert: Path) -> ssl.SSLContext:
    """A server-side TLS context that presents :func:`self_signed_cert`."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(self_signed_cert, self_signed_cert.with_name("key.pem"))
    return context


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[TemporaryCluster]:
    """A throwaway PostgreSQL server for the whole run (``uidt.testing.postgres``), or a skip."""
    cluster = TemporaryCluster()
    try:
        cluster.start()
    except ClusterUnavailable as exc:
        pytest.skip(f"no PostgreSQL for the shared-store tests: {exc}")
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster: TemporaryCluster) -> str:
    """The URL of a new, empty database of its own for one test."""
    return postgres_cluster.new_database()
