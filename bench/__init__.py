"""uidt benchmarks: ``python -m bench`` runs every ``bench/*.py`` module that has ``main()``."""
