"""A stand-in for ``systemctl --user`` (``UIDT_SYSTEMCTL``): logs each call to
``$FAKE_SYSTEMCTL_LOG`` and does to files what enable/disable do; ``FAKE_SYSTEMCTL_FAIL=VERB``
makes that verb fail."""

import os
import sys
from pathlib import Path

args = sys.argv[1:]
with open(os.environ["FAKE_SYSTEMCTL_LOG"], "a") as log:
    log.write(" ".join(args) + "\n")
assert args[0] == "--user", args
verb, rest = args[1], args[2:]
if os.environ.get("FAKE_SYSTEMCTL_FAIL") == verb:
    print(f"Failed to {verb}: Access denied", file=sys.stderr)
    sys.exit(1)
units = Path(os.environ["UIDT_SYSTEMD_USER_DIR"])
wants = {"uidt.socket": "sockets.target.wants", "uidt.service": "default.target.wants"}
if verb == "show":
    print("255")
elif verb in ("enable", "disable"):
    for name in (r for r in rest if not r.startswith("--")):
        link = units / wants[name] / name
        if verb == "enable":
            if not (units / name).exists():
                print(f"Unit file {name} does not exist.", file=sys.stderr)
                sys.exit(1)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(units / name)
        elif link.is_symlink():
            link.unlink()
elif verb == "is-enabled":
    print("enabled" if (units / wants[rest[0]] / rest[0]).exists() else "disabled")
elif verb == "is-active":
    print("active")
