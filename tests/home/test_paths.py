from __future__ import annotations

from pathlib import Path

from uidt.home.paths import resolve_paths


def test_home_puts_everything_in_one_directory(tmp_path: Path) -> None:
    paths = resolve_paths(tmp_path, env={})
    assert paths.socket == tmp_path / "uidt.sock"
    assert paths.store == tmp_path / "uidt.db"
    assert paths.config_file == tmp_path / "config.toml"


def test_uidt_home_env_is_used_without_option(tmp_path: Path) -> None:
    paths = resolve_paths(None, env={"UIDT_HOME": str(tmp_path)})
    assert paths.data_dir == tmp_path


def test_xdg_locations(tmp_path: Path) -> None:
    env = {
        "HOME": str(tmp_path),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_RUNTIME_DIR": str(tmp_path / "run"),
    }
    paths = resolve_paths(None, env=env)
    assert paths.data_dir == tmp_path / "state" / "uidt"
    assert paths.config_dir == tmp_path / ".config" / "uidt"
    assert paths.socket == tmp_path / "run" / "uidt" / "uidt.sock"


def test_socket_falls_back_to_data_dir_without_runtime_dir(tmp_path: Path) -> None:
    paths = resolve_paths(None, env={"HOME": str(tmp_path)})
    assert paths.runtime_dir == tmp_path / ".local" / "state" / "uidt"


def test_ensure_creates_private_directories(tmp_path: Path) -> None:
    paths = resolve_paths(tmp_path / "h", env={})
    paths.ensure()
    assert (paths.data_dir.stat().st_mode & 0o777) == 0o700
    assert paths.log_dir.is_dir()
