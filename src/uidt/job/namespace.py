"""Job namespaces (docs/android-semantics.md#persistence-and-namespaces): ``None`` is the default namespace; others are trimmed strings."""

from __future__ import annotations

from uidt.errors import InvalidJobError

MAX_NAMESPACE_LENGTH = 1000


def validate_namespace(namespace: str | None) -> str | None:
    """Trim a namespace; ``None`` is the default namespace (docs/android-semantics.md#admission, item 5).

    Raises:
        InvalidJobError: not a string, empty after trimming, or longer than 1000 characters.
    """
    if namespace is None:
        return None
    if not isinstance(namespace, str):
        raise InvalidJobError("namespace must be a string or None")
    trimmed = namespace.strip()
    if not trimmed:
        raise InvalidJobError("namespace cannot be empty")
    if len(trimmed) > MAX_NAMESPACE_LENGTH:
        raise InvalidJobError(f"namespace cannot be more than {MAX_NAMESPACE_LENGTH} characters")
    return trimmed
