"""``python -m uidt`` is the ``uidt`` command."""

from uidt.cli.launch import main

if __name__ == "__main__":
    main()
