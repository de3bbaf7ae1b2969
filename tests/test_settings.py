"""Settings: Android's defaults and the three sources, later ones winning."""

from __future__ import annotations

from pathlib import Path

import pytest

from uidt.errors import SettingsError
from uidt.settings import Settings, parse_duration_ms


def test_defaults_are_androids() -> None:
    s = Settings()
    assert (s.bind_timeout_ms, s.op_timeout_ms, s.notification_timeout_ms) == (
        18_000,
        8_000,
        10_000,
    )
    assert s.runtime_min_ui_guarantee_ms == 6 * 3_600_000
    assert s.runtime_ui_limit_ms == 12 * 3_600_000
    assert s.runtime_free_quota_max_limit_ms == 30 * 60_000
    assert s.runtime_cumulative_ui_limit_ms == 24 * 3_600_000
    assert s.max_backoff_ms == 5 * 3_600_000
    assert s.max_jobs_per_app == 150
    assert s.concurrency_limit is None
    assert s.runtime_use_data_estimates_for_limits is False


def test_file_then_env_then_overrides(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('bind_timeout_ms = 100\nop_timeout_ms = "2s"\nvisible_grace_ms = 5\n')
    s = Settings.from_sources(
        config,
        {"UIDT_OP_TIMEOUT_MS": "3s", "UIDT_VISIBLE_GRACE_MS": "7", "UIDT_HOME": "/x"},
        {"visible_grace_ms": "1min"},
    )
    assert s.bind_timeout_ms == 100
    assert s.op_timeout_ms == 3000
    assert s.visible_grace_ms == 60_000


def test_settings_table_and_missing_file(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[settings]\nconcurrency_limit = 4\nstall_watchdog = false\n")
    s = Settings.from_sources(config, {}, {})
    assert s.concurrency_limit == 4
    assert s.stall_watchdog is False
    assert Settings.from_sources(tmp_path / "nope.toml", {}, {}) == Settings()


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("runtime_use_data_estimates_for_limits", "yes", True),
        ("runtime_use_data_estimates_for_limits", "off", False),
        ("runtime_min_ui_data_transfer_guarantee_buffer_factor", "1.5", 1.5),
        ("concurrency_limit", "auto", None),
        ("concurrency_limit", "12", 12),
        ("max_backoff_ms", "6h", 6 * 3_600_000),
        ("max_backoff_ms", "250ms", 250),
        ("max_jobs_per_app", "20", 20),
    ],
)
def test_overrides_parse(name: str, raw: str, expected: object) -> None:
    assert getattr(Settings.from_sources(None, {}, {name: raw}), name) == expected


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("no_such_setting", "1"),
        ("bind_timeout_ms", "soon"),
        ("bind_timeout_ms", "-5"),
        ("stall_watchdog", "maybe"),
        ("max_jobs_per_app", "1.5s"),
        ("runtime_min_ui_data_transfer_guarantee_buffer_factor", "x"),
    ],
)
def test_bad_settings_name_the_setting(name: str, raw: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_sources(None, {}, {name: raw})


def test_bad_file(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("not toml [")
    with pytest.raises(SettingsError, match="cannot read"):
        Settings.from_sources(config, {}, {})
    config.write_text("settings = 3\n")
    with pytest.raises(SettingsError, match="table"):
        Settings.from_sources(config, {}, {})
    config.write_text("bind_timeout_ms = true\n")
    with pytest.raises(SettingsError, match="bind_timeout_ms"):
        Settings.from_sources(config, {}, {})


def test_durations() -> None:
    assert parse_duration_ms("10s") == 10_000
    assert parse_duration_ms("5min") == 300_000
    assert parse_duration_ms("1d") == 86_400_000
    assert parse_duration_ms("42") == 42
    with pytest.raises(ValueError, match="duration"):
        parse_duration_ms("ten")


def test_to_dict_lists_every_name() -> None:
    assert set(Settings().to_dict()) == set(Settings.names())


def test_web_is_a_setting_from_every_source(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('web = "127.0.0.1:8765"\n')
    assert Settings().web is None
    assert Settings.from_sources(config, {}, {}).web == "127.0.0.1:8765"
    assert Settings.from_sources(config, {"UIDT_WEB": "[::1]:9000"}, {}).web == "[::1]:9000"
    assert Settings.from_sources(config, {}, {"web": "localhost:1"}).web == "localhost:1"
    assert Settings.from_sources(config, {}, {"web": ""}).web is None  # --set web= turns it off


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("10.1.2.3:80", "loopback only"),
        ("example.org:80", "loopback only"),
        ("0.0.0.0:8765", "loopback only"),
        ("127.0.0.1", "HOST:PORT"),
        ("127.0.0.1:99999", "HOST:PORT"),
        (":80", "HOST:PORT"),
    ],
)
def test_a_web_address_off_loopback_or_malformed_is_refused(raw: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_sources(None, {}, {"web": raw})


def test_web_must_be_a_string_in_config_toml(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("web = 8765\n")
    with pytest.raises(SettingsError, match="give a string"):
        Settings.from_sources(config, {}, {})


def test_top_level_keys_and_a_settings_table_both_count(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('web = "127.0.0.1:8765"\n[settings]\nmax_jobs_per_app = 5\n')
    s = Settings.from_sources(config, {}, {})
    assert (s.web, s.max_jobs_per_app) == ("127.0.0.1:8765", 5)
    config.write_text("max_jobs_per_app = 4\n[settings]\nmax_jobs_per_app = 5\n")
    with pytest.raises(SettingsError, match="both at the top level and in"):
        Settings.from_sources(config, {}, {})


def test_metrics_takes_a_loopback_address_and_log_format_text_or_json() -> None:
    assert (
        Settings.from_sources(overrides={"metrics": "127.0.0.1:9464"}).metrics == "127.0.0.1:9464"
    )
    assert Settings.from_sources(overrides={"metrics": "off"}).metrics is None
    with pytest.raises(SettingsError, match="metrics serves loopback only"):
        Settings.from_sources(overrides={"metrics": "0.0.0.0:9464"})
    with pytest.raises(SettingsError, match="metrics takes HOST:PORT"):
        Settings.from_sources(overrides={"metrics": "9464"})
    assert Settings.from_sources(overrides={"log_format": "json"}).log_format == "json"
    with pytest.raises(SettingsError, match="give text or json"):
        Settings.from_sources(overrides={"log_format": "xml"})


def test_bandwidth_limit_takes_a_rate_or_a_timetable(tmp_path: Path) -> None:
    assert Settings().bandwidth_limit is None
    assert Settings.from_sources(overrides={"bandwidth_limit": "2M"}).bandwidth_limit == "2M"
    assert Settings.from_sources(overrides={"bandwidth_limit": "off"}).bandwidth_limit is None
    config = tmp_path / "config.toml"
    config.write_text('bandwidth_limit = """\n08:00,2M\n19:00,off\n"""\n')
    assert Settings.from_sources(file=config).bandwidth_limit == "08:00,2M 19:00,off"
    env = {"UIDT_BANDWIDTH_LIMIT": "Mon-08:00,512K Sat-00:00,off"}
    assert Settings.from_sources(env=env).bandwidth_limit == "Mon-08:00,512K Sat-00:00,off"
    config.write_text("bandwidth_limit = 1048576\n")
    assert Settings.from_sources(file=config).bandwidth_limit == "1048576"


def test_a_bad_bandwidth_limit_names_the_entry(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('bandwidth_limit = """\n08:00,2M\n19:00,of\n"""\n')
    with pytest.raises(SettingsError, match=r"bandwidth_limit: line 2, entry 1 \('19:00,of'\)"):
        Settings.from_sources(file=config)
    with pytest.raises(SettingsError, match="give a string like 2M"):
        Settings.from_sources(overrides={"bandwidth_limit": True})  # type: ignore[dict-item]


def test_host_id_and_lease_time_for_a_shared_store() -> None:
    default = Settings()
    assert (default.host_id, default.lease_ms) == (None, 30_000)
    chosen = Settings.from_sources(overrides={"host_id": " rack-7 ", "lease_ms": "10s"})
    assert (chosen.host_id, chosen.lease_ms) == ("rack-7", 10_000)
    for name, bad in (("host_id", "  "), ("lease_ms", "10"), ("lease_ms", "0")):
        with pytest.raises(SettingsError, match=name):
            Settings.from_sources(overrides={name: bad})


def test_host_labels_from_every_source(tmp_path: Path) -> None:
    assert Settings().host_labels == ()
    chosen = Settings.from_sources(overrides={"host_labels": "ssd, gpu-rack"})
    assert chosen.host_labels == ("gpu-rack", "ssd")
    assert Settings.from_sources(env={"UIDT_HOST_LABELS": "ssd"}).host_labels == ("ssd",)
    config = tmp_path / "config.toml"
    config.write_text('host_labels = ["ssd", "gpu"]\n', encoding="utf-8")
    assert Settings.from_sources(file=config).host_labels == ("gpu", "ssd")
    assert Settings.from_sources(overrides={"host_labels": ""}).host_labels == ()


@pytest.mark.parametrize("bad", ["GPU", "gpu rack", "-x"])
def test_a_bad_host_label_is_a_clear_error(bad: str) -> None:
    with pytest.raises(SettingsError, match=r"host_labels.*invalid host label"):
        Settings.from_sources(overrides={"host_labels": f"ssd,{bad}"})
