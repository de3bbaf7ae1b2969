"""Imported at start-up by every Python process that has this folder on ``PYTHONPATH`` (one e2e
test's daemon and its workers): the transfer engine's runs give up after two link retries, so a
run against a closed port ends in about a second instead of a minute. The unit tests of
``uidt.transfers`` inject the same short policy into the service directly; a real worker can only
be given it this way."""

from __future__ import annotations

import dataclasses

from uidt.transfers import retry

#: Link retries (connection refused, reset) one run makes before it asks to run again later.
LINK_RETRIES = 2

_names = [f.name for f in dataclasses.fields(retry.RetryPolicy)]
_defaults = list(retry.RetryPolicy.__init__.__defaults__ or ())
if len(_defaults) == len(_names):  # every field has a default: they map one to one
    _defaults[_names.index("link_retries")] = LINK_RETRIES
    retry.RetryPolicy.__init__.__defaults__ = tuple(_defaults)
