"""``python -m uidt`` is the ``uidt`` command."""

from uidt.cli.main import main

if __name__ == "__main__":
    main()
