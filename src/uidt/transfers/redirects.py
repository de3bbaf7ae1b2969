"""Which redirects a download follows: :func:`follow_redirect`.

The engine follows redirects itself (one request at a time, ``aiohttp`` told not to), so each
hop is checked before any request goes out:

* only ``http://`` and ``https://`` targets;
* never from ``https://`` down to ``http://`` unless the caller allowed it
  (``download(..., allow_insecure_redirect=True)``, ``uidt download --allow-insecure-redirect``):
  a server the user reached over TLS does not get to hand the download to an unencrypted
  connection that anyone on the path can read and change, without the user hearing of it;
* the user name and password of the URL, like the secret header fields of the job
  (:meth:`~uidt.transfers.request.RequestOptions.headers_for`), go only to the same origin
  (scheme, host, port), as ``curl`` does without ``--location-trusted`` (with it: to every
  hop).
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit, urlunsplit

from uidt.errors import InsecureRedirectError, RemoteError
from uidt.redact import redact
from uidt.transfers.http import check_url


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or (443 if scheme == "https" else 80)


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _with_userinfo_of(url: str, source: str) -> str:
    userinfo = urlsplit(source).netloc.rpartition("@")[0]
    parts = urlsplit(url)
    if not userinfo or "@" in parts.netloc:
        return url
    return urlunsplit((parts.scheme, f"{userinfo}@{parts.netloc}", parts.path, parts.query, ""))


def follow_redirect(
    current: str,
    location: str | None,
    *,
    original: str,
    allow_insecure: bool,
    trusted: bool = False,
) -> str:
    """The URL a redirect from ``current`` to ``location`` leads to, if it may be followed.

    Args:
        current: The URL that answered with the redirect.
        location: Its ``Location`` header.
        original: The URL the download started with (its credentials, same origin only).
        allow_insecure: Follow ``https://`` → ``http://``.
        trusted: Keep the original URL's credentials on another origin too
            (``--location-trusted``).

    Raises:
        RemoteError: No ``Location``, or a target that is not an http(s) URL.
        InsecureRedirectError: ``https://`` → ``http://`` without ``allow_insecure``.
    """
    if not location:
        raise RemoteError(f"{redact(current)}: a redirect without a Location")
    target = _without_userinfo(urljoin(_without_userinfo(current), location.strip()))
    target = target.partition("#")[0]
    try:
        check_url(target)
    except Exception as exc:
        raise RemoteError(f"{redact(current)} redirected to an unusable URL: {exc}") from None
    if _origin(current)[0] == "https" and _origin(target)[0] == "http" and not allow_insecure:
        raise InsecureRedirectError(
            f"{redact(current)} redirected to {redact(target)}, which is not encrypted; "
            "refused (allow it with --allow-insecure-redirect, or "
            "download(..., allow_insecure_redirect=True))"
        )
    if trusted or _origin(target) == _origin(original):
        target = _with_userinfo_of(target, original)
    return target
