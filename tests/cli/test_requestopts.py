"""``uidt download/upload`` request options: what they build, and one clear line per mistake."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

from uidt.cli.requestopts import RequestArgs
from uidt.errors import InvalidJobError
from uidt.transfers.request import RequestOptions

URL = "https://files.example.org/x.bin"
SECRET = "hunter2-s3cret"


def _basic(options: RequestOptions) -> str:
    value = dict(options.headers)["Authorization"]
    assert value.startswith("Basic ")
    return base64.b64decode(value.removeprefix("Basic ")).decode()


def _netrc(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def test_headers_user_agent_and_header_env() -> None:
    args = RequestArgs(
        header=("Accept: text/csv",), header_env=("X-Token=MY_TOKEN",), user_agent="me/2"
    )
    options = args.build(URL, environ={"MY_TOKEN": SECRET})
    assert dict(options.headers) == {"Accept": "text/csv", "X-Token": SECRET, "User-Agent": "me/2"}
    assert options.is_secret("x-token")
    assert not options.is_secret("accept")
    assert options.to_extras()["secret"] == ["x-token"]


def test_user_with_and_without_a_password() -> None:
    assert _basic(RequestArgs(user="ann:pw:x").build(URL, environ={})) == "ann:pw:x"
    asked = RequestArgs(user="ann").build(URL, environ={}, ask_password=lambda user: "typed")
    assert _basic(asked) == "ann:typed"


def test_user_without_a_password_and_no_terminal_is_a_clear_error() -> None:
    with pytest.raises(InvalidJobError, match="no terminal to ask"):
        RequestArgs(user="ann").build(URL, environ={})


def test_netrc_machine_and_default_entries(tmp_path: Path) -> None:
    netrc = _netrc(
        tmp_path / "netrc",
        f"machine files.example.org login ann password {SECRET}\ndefault login anon password x\n",
    )
    assert _basic(RequestArgs(netrc_file=str(netrc)).build(URL, environ={})) == f"ann:{SECRET}"
    other = RequestArgs(netrc_file=str(netrc)).build("http://other.example/y", environ={})
    assert _basic(other) == "anon:x"


def test_netrc_reads_home_and_optional_lets_the_url_win(tmp_path: Path) -> None:
    _netrc(tmp_path / ".netrc", f"machine files.example.org login ann password {SECRET}\n")
    old = os.environ.get("HOME")
    os.environ["HOME"] = str(tmp_path)
    try:
        assert _basic(RequestArgs(netrc=True).build(URL, environ={})) == f"ann:{SECRET}"
        with_user = URL.replace("https://", "https://bob:pw@")
        assert RequestArgs(netrc_optional=True).build(with_user, environ={}).headers == ()
        (tmp_path / ".netrc").unlink()
        assert RequestArgs(netrc_optional=True).build(URL, environ={}).headers == ()
        with pytest.raises(InvalidJobError, match="does not exist"):
            RequestArgs(netrc=True).build(URL, environ={})
    finally:
        if old is None:
            del os.environ["HOME"]
        else:
            os.environ["HOME"] = old


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_netrc_others_can_read_is_refused(tmp_path: Path, mode: int) -> None:
    netrc = _netrc(tmp_path / "netrc", f"default login a password {SECRET}\n", mode)
    with pytest.raises(InvalidJobError, match="other users") as caught:
        RequestArgs(netrc_file=str(netrc)).build(URL, environ={})
    assert SECRET not in str(caught.value)
    assert "chmod 600" in str(caught.value)


def test_a_netrc_that_is_not_netrc_is_refused(tmp_path: Path) -> None:
    netrc = _netrc(tmp_path / "netrc", "machine\n")
    with pytest.raises(InvalidJobError, match="not valid"):
        RequestArgs(netrc_file=str(netrc)).build(URL, environ={})


def test_a_netrc_symlink_is_refused(tmp_path: Path) -> None:
    real = _netrc(tmp_path / "real", "default login a password b\n")
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(InvalidJobError, match="cannot read"):
        RequestArgs(netrc_file=str(tmp_path / "link")).build(URL, environ={})


def test_cacert_and_ssl_cert_file(self_signed_cert: Path, tmp_path: Path) -> None:
    given = RequestArgs(cacert=str(self_signed_cert)).build(URL, environ={})
    assert given.cacert == str(self_signed_cert)
    from_env = RequestArgs().build(URL, environ={"SSL_CERT_FILE": str(self_signed_cert)})
    assert from_env.cacert == str(self_signed_cert)
    assert RequestArgs(insecure=True).build(URL, environ={}).insecure
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n")
    for args, env, where in [
        (RequestArgs(cacert=str(bad)), {}, "--cacert"),
        (RequestArgs(), {"SSL_CERT_FILE": str(bad)}, "SSL_CERT_FILE"),
        (RequestArgs(cacert=str(tmp_path / "missing.pem")), {}, "does not exist"),
    ]:
        with pytest.raises(InvalidJobError, match=where):
            args.build(URL, environ=env)


def test_a_plain_http_transfer_reads_its_ca_file_but_does_not_load_it(
    self_signed_cert: Path,
) -> None:
    """Loading a system bundle into an SSL context costs the command ~50 ms (``ssl`` and 144
    certificates here) on the way to the schedule request; ``http://`` needs it only after a
    redirect to ``https://``, where the transfer loads it anyway (curl reads ``--cacert`` only
    for TLS too). The file is still checked to be a readable PEM certificate file."""
    probe = (
        "import sys\n"
        "from uidt.cli.requestopts import RequestArgs\n"
        f"env = {{'SSL_CERT_FILE': {str(self_signed_cert)!r}}}\n"
        "options = RequestArgs().build('http://127.0.0.1:9/f', environ=env)\n"
        "print(options.cacert, 'ssl' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == [str(self_signed_cert), "False"]


def test_a_plain_http_transfer_still_refuses_a_ca_file_that_is_no_certificate(
    tmp_path: Path,
) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate\n")
    http = "http://files.example.org/x.bin"
    for args, env, where in [
        (RequestArgs(cacert=str(bad)), {}, "--cacert: CA file .* holds no certificate"),
        (RequestArgs(), {"SSL_CERT_FILE": str(bad)}, "SSL_CERT_FILE: CA file"),
        (RequestArgs(cacert=str(tmp_path / "missing.pem")), {}, "does not exist"),
        (RequestArgs(cacert=str(tmp_path)), {}, "is a directory"),
    ]:
        with pytest.raises(InvalidJobError, match=where):
            args.build(http, environ=env)


def test_conflicting_options_are_refused() -> None:
    with pytest.raises(InvalidJobError, match="both given"):
        RequestArgs(header=("Authorization: Bearer x",), user="a:b").build(URL, environ={})
    with pytest.raises(InvalidJobError, match="contradict"):
        RequestArgs(insecure=True, cacert="/x").build(URL, environ={})


# -- the command line: one clear line each, nothing scheduled ----------------------------------


def _uidt(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, **env}
    environ.pop("SSL_CERT_FILE", None)
    # The command line itself, without `python -m uidt`'s early daemon start (cli/launch.py):
    # a refused command must not need (or leave) a daemon.
    program = "import sys; from uidt.cli.main import main; sys.argv[0] = 'uidt'; main()"
    return subprocess.run(
        [sys.executable, "-c", program, "--home", str(tmp_path / "home"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=environ,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_bad_request_options_are_one_clear_line_each(tmp_path: Path) -> None:
    bad_ca = tmp_path / "bad.pem"
    bad_ca.write_text("nope\n")
    open_netrc = _netrc(tmp_path / "netrc", f"default login a password {SECRET}\n", 0o644)
    cases = [
        (["-H", f"Authorization Bearer {SECRET}"], "must read 'Name: value'"),
        (
            ["--header-env", "Authorization=UIDT_TEST_NO_SUCH_VAR"],
            "UIDT_TEST_NO_SUCH_VAR is not set",
        ),
        (["--netrc-file", str(open_netrc)], "can be read or changed by other users"),
        (["--cacert", str(bad_ca)], "holds no usable certificate"),
        (["--user", "ann"], "no terminal to ask"),
        (["-H", "Range: bytes=0-"], "set by uidt itself"),
    ]
    download = ["download", "https://127.0.0.1:9/x", "-o", str(tmp_path / "x")]
    upload = ["upload", str(bad_ca), "https://127.0.0.1:9/put/x"]
    for index, (options, words) in enumerate(cases):
        for command in [download, upload] if index < 2 else [download]:
            done = _uidt(tmp_path, *command, *options)
            assert done.returncode == 1, (options, done.stderr)
            lines = done.stderr.strip().splitlines()
            assert len(lines) == 1, done.stderr
            assert words in lines[0]
            assert SECRET not in done.stderr + done.stdout
    assert not (tmp_path / "home").exists()  # refused before any daemon was asked


def test_a_netrc_planted_by_another_user_is_refused(tmp_path: Path) -> None:
    netrc = _netrc(tmp_path / "netrc", f"default login a password {SECRET}\n")
    try:
        os.chown(netrc, 65534, 65534)
    except PermissionError:
        pytest.skip("not permitted to give a file to another user here")
    with pytest.raises(InvalidJobError, match="is not yours"):
        RequestArgs(netrc_file=str(netrc)).build(URL, environ={})


def test_the_shells_proxy_variables_are_captured_at_submit_time() -> None:
    env = {"HTTPS_PROXY": "http://ann:pw-9x@p.lan:3128", "no_proxy": "intra.lan"}
    options = RequestArgs().build(URL, environ=env)
    proxy = options.proxy.proxy_for(URL)
    assert proxy is not None
    assert proxy.where == "p.lan:3128"
    assert options.proxy.proxy_for("https://intra.lan/x") is None
    assert "pw-9x" not in options.scrub(str(options.to_extras()))
    flagged = RequestArgs(proxy="", noproxy="*").build(URL, environ=env)
    assert flagged.proxy.proxy_for(URL) is None


def test_an_unusable_proxy_variable_is_one_line_naming_it() -> None:
    with pytest.raises(InvalidJobError, match="all_proxy: only http:// proxies"):
        RequestArgs().build(URL, environ={"ALL_PROXY": "socks5://p:1080"})
