"""Builders for fixture trees: a fake ``/proc`` and ``/sys``."""

from __future__ import annotations

from pathlib import Path

ROUTE_HEADER = (
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
)


def write(root: Path, absolute: str, text: str) -> Path:
    path = root / absolute.lstrip("/")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def route_line(
    iface: str, destination: str, metric: int, flags: str = "0003", mask: str = "00000000"
) -> str:
    return f"{iface}\t{destination}\t0100A8C0\t{flags}\t0\t0\t{metric}\t{mask}\t0\t0\t0\n"


def add_interface(root: Path, name: str, operstate: str = "up", carrier: str = "1") -> None:
    write(root, f"/sys/class/net/{name}/operstate", operstate + "\n")
    write(root, f"/sys/class/net/{name}/carrier", carrier + "\n")


def set_routes(root: Path, *lines: str) -> None:
    write(root, "/proc/net/route", ROUTE_HEADER + "".join(lines))


def add_battery(root: Path, capacity: int, status: str, name: str = "BAT0") -> None:
    write(root, f"/sys/class/power_supply/{name}/type", "Battery\n")
    write(root, f"/sys/class/power_supply/{name}/capacity", f"{capacity}\n")
    write(root, f"/sys/class/power_supply/{name}/status", status + "\n")


def add_mains(root: Path, online: bool, name: str = "AC") -> None:
    write(root, f"/sys/class/power_supply/{name}/type", "Mains\n")
    write(root, f"/sys/class/power_supply/{name}/online", "1\n" if online else "0\n")


def add_zone(root: Path, index: int, temp_c: float, trips: dict[str, float]) -> None:
    base = f"/sys/class/thermal/thermal_zone{index}"
    write(root, f"{base}/temp", f"{int(temp_c * 1000)}\n")
    write(root, f"{base}/type", "x86_pkg_temp\n")
    for n, (kind, celsius) in enumerate(trips.items()):
        write(root, f"{base}/trip_point_{n}_type", kind + "\n")
        write(root, f"{base}/trip_point_{n}_temp", f"{int(celsius * 1000)}\n")


def set_psi(root: Path, some: float, full: float) -> None:
    write(
        root,
        "/proc/pressure/memory",
        f"some avg10={some:.2f} avg60=0.00 avg300=0.00 total=0\n"
        f"full avg10={full:.2f} avg60=0.00 avg300=0.00 total=0\n",
    )


def set_meminfo(root: Path, total_kb: int, available_kb: int) -> None:
    write(
        root,
        "/proc/meminfo",
        f"MemTotal: {total_kb} kB\nMemFree: 1 kB\nMemAvailable: {available_kb} kB\n",
    )
