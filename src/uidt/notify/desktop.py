"""Desktop notifications: the freedesktop notification service over the user's session D-Bus.

A post calls ``org.freedesktop.Notifications.Notify`` with ``replaces_id`` set to the id the
server gave the same (app, notification id) before, so an update replaces the notification in
place; progress goes in the ``value`` hint (0 to 100) and the app's actions become the notification's
actions. A remove calls ``CloseNotification``. An ``ActionInvoked`` signal for one of our
notifications is handed to ``on_action(app, notification_id, action_id)``; the daemon turns it into
a user-interaction grant for the app.

:meth:`DesktopNotifier.connect` returns ``None`` unless ``DBUS_SESSION_BUS_ADDRESS`` is set *and*
a notification server answers ``GetServerInformation`` (libraries that swallow delivery failures
are not trusted for that). Failures after that are logged, never raised into the daemon.
"""

from __future__ import annotations

import asyncio
import html
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from uidt.clock import Clock, SystemClock
from uidt.errors import UidtError
from uidt.notify.events import NotificationEvent, NotificationKey, Posted, RawPayload, parse_event
from uidt.notify.ratelimit import DEFAULT_MIN_INTERVAL_MS, Outbox

if TYPE_CHECKING:
    from dbus_fast import Message
    from dbus_fast.aio import MessageBus

log = logging.getLogger("uidt.notify")

BUS_NAME = "org.freedesktop.Notifications"
OBJECT_PATH = "/org/freedesktop/Notifications"
INTERFACE = "org.freedesktop.Notifications"

#: ``NotificationClosed`` reasons (Desktop Notifications Specification 1.2).
CLOSED_EXPIRED = 1
CLOSED_DISMISSED = 2
CLOSED_BY_CALL = 3

#: How long one D-Bus call may take before it counts as failed.
CALL_TIMEOUT_S = 2.0

#: ``on_action(app, notification_id, action_id)``.
ActionCallback = Callable[[str, int, str], None]


class NotificationServiceError(UidtError, ConnectionError):
    """The notification service did not answer, or answered with a D-Bus error."""


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """What ``GetServerInformation`` and ``GetCapabilities`` said."""

    name: str
    vendor: str
    version: str
    spec_version: str
    capabilities: frozenset[str]


class DesktopNotifier:
    """A notification sink that shows notifications on the desktop.

    Use :meth:`connect` to create one; add it to ``runtime.notification_sinks``; run :meth:`run` in
    the daemon's task group; :meth:`aclose` it at shutdown.
    """

    def __init__(
        self,
        bus: MessageBus,
        server: ServerInfo,
        *,
        on_action: ActionCallback | None = None,
        clock: Clock | None = None,
        min_interval_ms: int = DEFAULT_MIN_INTERVAL_MS,
    ) -> None:
        self._bus = bus
        self.server = server
        self._on_action = on_action
        self._outbox = Outbox(clock or SystemClock(), min_interval_ms)
        self._server_ids: dict[NotificationKey, int] = {}
        self._keys: dict[int, NotificationKey] = {}
        self._dismissed: set[NotificationKey] = set()
        self._server_owner: str | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        bus.add_message_handler(self._on_message)

    # -- construction --------------------------------------------------------------------------

    @classmethod
    async def connect(
        cls,
        address: str | None = None,
        *,
        on_action: ActionCallback | None = None,
        clock: Clock | None = None,
        min_interval_ms: int = DEFAULT_MIN_INTERVAL_MS,
        timeout_s: float = CALL_TIMEOUT_S,
    ) -> DesktopNotifier | None:
        """Connect to the session bus and check that a notification server answers.

        Args:
            address: the bus address; ``DBUS_SESSION_BUS_ADDRESS`` when ``None``.
            on_action: called with ``(app, notification_id, action_id)`` when the user clicks an
                action of one of our notifications.
            clock: time source for rate limiting.
            min_interval_ms: at most one update per this many milliseconds per notification.
            timeout_s: how long to wait for the bus and the server.

        Returns:
            a notifier, or ``None`` when there is no session bus or no notification server.
        """
        address = address or os.environ.get("DBUS_SESSION_BUS_ADDRESS")
        if not address:
            log.debug("no session bus (DBUS_SESSION_BUS_ADDRESS unset): no desktop notifications")
            return None
        try:
            from dbus_fast.aio import MessageBus
        except ImportError:  # pragma: no cover - dbus-fast is a Linux-only dependency
            log.debug("dbus-fast is not installed: no desktop notifications")
            return None
        bus = MessageBus(bus_address=address)
        try:
            await asyncio.wait_for(bus.connect(), timeout=timeout_s)
            server = await _probe_server(bus, timeout_s)
            await _call(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                        "org.freedesktop.DBus", "AddMatch", "s",
                        [f"type='signal',interface='{INTERFACE}',path='{OBJECT_PATH}'"],
                        timeout_s)  # fmt: skip
        except Exception as exc:
            log.info("desktop notifications unavailable: %s", exc or type(exc).__name__)
            bus.disconnect()
            return None
        log.info("desktop notifications through %s %s", server.name, server.version)
        return cls(bus, server, on_action=on_action, clock=clock, min_interval_ms=min_interval_ms)

    # -- the sink ------------------------------------------------------------------------------

    def __call__(self, kind: str, payload: RawPayload, /) -> None:
        """Receive a post or remove from the runtime (never raises)."""
        try:
            self._outbox.put(parse_event(kind, payload))
        except Exception:
            log.exception("bad notification event %r", kind)

    async def run(self) -> None:
        """Deliver notifications until :meth:`aclose`; run it in the daemon's task group."""
        self._idle.clear()
        try:
            await self._outbox.run(self._deliver)
        finally:
            self._idle.set()

    async def aclose(self, timeout_s: float = CALL_TIMEOUT_S) -> None:
        """Deliver what is held (if :meth:`run` is running), then disconnect from the bus."""
        self._outbox.close()
        try:
            await asyncio.wait_for(self._idle.wait(), timeout=timeout_s)
        except TimeoutError:
            log.warning("desktop notifications: could not deliver the last updates in time")
        self._bus.remove_message_handler(self._on_message)
        self._bus.disconnect()

    async def wait_delivered(self) -> None:
        """Wait until every notification event due so far has reached the server."""
        await self._outbox.wait_delivered()

    @property
    def shown(self) -> dict[NotificationKey, int]:
        """The server ids of the notifications we are showing, by (app, notification id)."""
        return dict(self._server_ids)

    # -- delivery ------------------------------------------------------------------------------

    async def _deliver(self, event: NotificationEvent) -> None:
        if isinstance(event, Posted):
            await self._notify(event)
        else:
            self._dismissed.discard(event.key)
            server_id = self._server_ids.pop(event.key, None)
            if server_id is not None:
                self._keys.pop(server_id, None)
                await self._request("CloseNotification", "u", [server_id])

    async def _notify(self, event: Posted) -> None:
        if event.key in self._dismissed and event.user_initiated_job:
            return  # the user dismissed it while the job runs; show only its final state
        self._dismissed.discard(event.key)
        capabilities = self.server.capabilities
        actions: list[str] = []
        if "actions" in capabilities:
            for action in event.actions:
                actions += [action.action_id, action.title]
        text = event.text
        if "body-markup" in capabilities:
            text = html.escape(text, quote=False)
        hints = _hints(event)
        expire_ms = 0  # as on Android: shown until dismissed (or removed by its app)
        replaces = self._server_ids.get(event.key, 0)
        reply = await self._request(
            "Notify",
            "susssasa{sv}i",
            [event.app, replaces, "", event.title, text, actions, hints, expire_ms],
        )
        if reply is None:
            return
        server_id = int(reply.body[0])
        if replaces and replaces != server_id:
            self._keys.pop(replaces, None)
        self._server_ids[event.key] = server_id
        self._keys[server_id] = event.key

    async def _request(self, member: str, signature: str, body: list[Any]) -> Message | None:
        if not self._bus.connected:
            return None
        try:
            reply = await _call(
                self._bus, BUS_NAME, OBJECT_PATH, INTERFACE, member, signature, body, CALL_TIMEOUT_S
            )
        except Exception as exc:
            log.warning("desktop notification %s failed: %s", member, exc or type(exc).__name__)
            return None
        self._server_owner = reply.sender
        return reply

    # -- signals from the server ---------------------------------------------------------------

    def _on_message(self, message: Message) -> None:
        from dbus_fast import MessageType

        if message.message_type is not MessageType.SIGNAL or message.interface != INTERFACE:
            return
        if self._server_owner is not None and message.sender != self._server_owner:
            return
        if message.member == "ActionInvoked" and len(message.body) == 2:
            key = self._keys.get(int(message.body[0]))
            if key is not None and self._on_action is not None:
                try:
                    self._on_action(key[0], key[1], str(message.body[1]))
                except Exception:
                    log.exception("notification action handler failed")
        elif message.member == "NotificationClosed" and len(message.body) == 2:
            server_id, reason = int(message.body[0]), int(message.body[1])
            key = self._keys.pop(server_id, None)
            if key is not None and self._server_ids.get(key) == server_id:
                del self._server_ids[key]
                if reason == CLOSED_DISMISSED:
                    self._dismissed.add(key)


def _hints(event: Posted) -> dict[str, Any]:
    from dbus_fast import Variant

    hints: dict[str, Any] = {
        "category": Variant("s", "transfer"),
        "urgency": Variant("y", 1),
        "x-uidt-app": Variant("s", event.app),
    }
    if event.progress is not None:
        hints["value"] = Variant("i", round(event.progress * 100))
    if event.ongoing:
        hints["resident"] = Variant("b", True)
    return hints


async def _call(
    bus: MessageBus,
    destination: str,
    path: str,
    interface: str,
    member: str,
    signature: str,
    body: list[Any],
    timeout_s: float,
) -> Message:
    from dbus_fast import Message, MessageType

    message = Message(
        destination=destination,
        path=path,
        interface=interface,
        member=member,
        signature=signature,
        body=body,
    )
    reply = await asyncio.wait_for(bus.call(message), timeout=timeout_s)
    if reply is None:  # pragma: no cover - only for NO_REPLY_EXPECTED calls
        raise NotificationServiceError(f"{member}: no reply")
    if reply.message_type is MessageType.ERROR:
        detail = reply.body[0] if reply.body else ""
        raise NotificationServiceError(f"{member}: {reply.error_name} {detail}".strip())
    return reply


async def _probe_server(bus: MessageBus, timeout_s: float) -> ServerInfo:
    info = await _call(
        bus, BUS_NAME, OBJECT_PATH, INTERFACE, "GetServerInformation", "", [], timeout_s
    )
    caps = await _call(bus, BUS_NAME, OBJECT_PATH, INTERFACE, "GetCapabilities", "", [], timeout_s)
    name, vendor, version, spec_version = (str(x) for x in info.body[:4])
    return ServerInfo(name, vendor, version, spec_version, frozenset(map(str, caps.body[0])))
