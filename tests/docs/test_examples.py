"""The Python examples of README.md and docs/apps.md are complete and run as written.

Every ``python`` block compiles and passes ruff's pyflakes rules (imports present, no undefined
or unused names). The definitions of every block are executed; the service of docs/apps.md runs
for real (in this process, as the foreground fallback runs it) against the loopback test server,
and the checkpoint example is interrupted and resumed.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from uidt import JobInfo, NetworkType
from uidt.app.fallback import run_service
from uidt.testing.httpserver import TransferTestServer

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", ROOT / "docs" / "apps.md"]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def python_blocks(document: Path) -> list[str]:
    return BLOCK.findall(document.read_text())


def _all_blocks() -> Iterator[Any]:
    for document in DOCUMENTS:
        for number, code in enumerate(python_blocks(document), 1):
            yield pytest.param(code, id=f"{document.name}-{number}")


def _block_defining(name: str) -> str:
    found = [b for b in python_blocks(ROOT / "docs" / "apps.md") if f" {name}(" in b]
    assert len(found) == 1, f"docs/apps.md should define {name} once"
    return found[0]


def _is_alias(node: ast.stmt) -> bool:
    """``NAME = something.attribute`` (such as ``DETACH = JobService.JOB_END_…``)."""
    return (
        isinstance(node, ast.Assign)
        and all(isinstance(t, ast.Name) for t in node.targets)
        and isinstance(node.value, ast.Attribute)
    )


def _definitions(code: str) -> dict[str, Any]:
    """Execute the imports, classes, functions and constants of ``code``, not its statements."""
    tree = ast.parse(code)
    kept = (ast.Import, ast.ImportFrom, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    tree.body = [node for node in tree.body if isinstance(node, kept) or _is_alias(node)]
    namespace: dict[str, Any] = {"__name__": "doc_example"}
    exec(compile(tree, "<doc example>", "exec"), namespace)  # our own docs
    return namespace


def test_the_documents_have_examples() -> None:
    assert len(python_blocks(ROOT / "README.md")) >= 1
    assert len(python_blocks(ROOT / "docs" / "apps.md")) >= 3


@pytest.mark.parametrize("code", list(_all_blocks()))
def test_each_example_compiles_and_names_nothing_undefined(code: str) -> None:
    compile(code, "<doc example>", "exec")
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed")
    done = subprocess.run(
        [ruff, "check", "--isolated", "--select", "F", "--stdin-filename", "example.py", "-"],
        input=code,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    _definitions(code)


class _CoroutineCalls(ast.NodeVisitor):
    """Names called as ``self.NAME(...)`` directly in a coroutine (not in a nested function)."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.depth: list[bool] = []

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self.depth.append(True)
        self.generic_visit(node)
        self.depth.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.depth.append(False)
        self.generic_visit(node)
        self.depth.pop()

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        in_coroutine = bool(self.depth) and self.depth[-1]
        if (
            in_coroutine
            and isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id == "self"
        ):
            self.calls.append(func.attr)
        self.generic_visit(node)


@pytest.mark.parametrize("code", list(_all_blocks()))
def test_coroutines_in_examples_await_aset_notification(code: str) -> None:
    visitor = _CoroutineCalls()
    visitor.visit(ast.parse(code))
    assert "set_notification" not in visitor.calls  # docs/apps.md: use aset_notification there


def _upload_job(tmp_path: Path, url: str, data: bytes) -> JobInfo:
    source = tmp_path / "photo.raw"
    source.write_bytes(data)
    return (
        JobInfo.Builder(1, "doc_upload_service:UploadService")
        .set_user_initiated(True)
        .set_required_network_type(NetworkType.ANY)
        .set_extras({"file": str(source), "url": url})
        .build()
    )


@pytest.fixture
def service_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    (tmp_path / "doc_upload_service.py").write_text(_block_defining("UploadService"))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    sys.modules.pop("doc_upload_service", None)


@pytest.mark.usefixtures("service_module")
async def test_the_apps_md_service_uploads_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = os.urandom(300_000)
    async with TransferTestServer() as server:
        finished = await run_service(None, _upload_job(tmp_path, server.url("/files/"), data))
        assert finished
        assert [bytes(b) for b in server.uploads.values()] == [data]
    assert "Uploaded [100.0%]" in capsys.readouterr().err


@pytest.mark.usefixtures("service_module")
async def test_the_apps_md_service_reports_a_refused_upload(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with TransferTestServer() as server:
        server.tus_enabled = False
        url = server.url("/nowhere")  # no tus, and a plain PUT is refused (405)
        finished = await run_service(None, _upload_job(tmp_path, url, b"x" * 1000))
    assert not finished
    assert "Upload failed" in capsys.readouterr().err


def test_the_checkpoint_example_resumes_after_a_kill(tmp_path: Path) -> None:
    copy_resumably = _definitions(_block_defining("copy_resumably"))["copy_resumably"]
    data = os.urandom(10 * 1000)
    dest = tmp_path / "out.bin"
    starts: list[int] = []

    class Killed(BaseException):
        pass

    def chunks(offset: int, *, die_after: int | None = None) -> Iterator[bytes]:
        starts.append(offset)
        for n, start in enumerate(range(offset, len(data), 1000)):
            if die_after is not None and n == die_after:
                raise Killed
            yield data[start : start + 1000]

    with pytest.raises(Killed):
        copy_resumably(lambda offset: chunks(offset, die_after=4), dest)
    assert not dest.exists()  # never under its final name while incomplete
    copy_resumably(chunks, dest)
    assert starts == [0, 4000]
    assert dest.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def _public_methods(cls: type) -> list[str]:
    return [n for n, v in vars(cls).items() if not n.startswith("_") and callable(v)]


@pytest.mark.parametrize(
    "cls", ["AsyncJobScheduler", "JobScheduler", "JobService", "Notification", "NotificationAction"]
)
def test_apps_md_documents_every_public_method_and_parameter(cls: str) -> None:
    import inspect

    import uidt
    import uidt.job

    target = getattr(uidt, cls, None) or getattr(uidt.job, cls)
    text = (ROOT / "docs" / "apps.md").read_text()
    internal = {"attach", "mark_stopped", "to_dict", "from_dict"}  # used by uidt itself
    names = [cls] + [m for m in _public_methods(target) if m not in internal]
    members = [getattr(target, m) for m in names[1:]]
    for function in [target, *members]:
        for parameter in inspect.signature(function).parameters:
            if parameter not in ("self", "args", "kwargs") and not parameter.startswith("_"):
                names.append(parameter)
    missing = [n for n in dict.fromkeys(names) if not re.search(rf"`[^`]*\b{n}\b[^`]*`", text)]
    assert missing == [], f"docs/apps.md does not mention {missing} of {cls}"
