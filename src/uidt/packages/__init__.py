"""Apps as packages: the manifest (``uidt.toml``) that declares an app, and whether its code is safe
to run.

Below the app side, the hosting layer and the daemon, all of which read manifests:

- :mod:`uidt.packages.manifest` — :class:`~uidt.packages.manifest.Manifest`, loaded and validated.
- :mod:`uidt.packages.trust` — refuses code paths another user could change.
"""
