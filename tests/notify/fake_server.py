"""A fake ``org.freedesktop.Notifications`` server that records what it is asked to show."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from dbus_fast import Variant
from dbus_fast.annotations import DBusDict, DBusInt32, DBusSignature, DBusStr, DBusUInt32
from dbus_fast.service import ServiceInterface, dbus_method, dbus_signal

from uidt.notify.desktop import INTERFACE

DBusStrList = Annotated[list[str], DBusSignature("as")]
DBusServerInfo = Annotated[list[str], DBusSignature("ssss")]
DBusIdAndKey = Annotated[list[Any], DBusSignature("us")]
DBusIdAndReason = Annotated[list[int], DBusSignature("uu")]

WAIT_S = 5.0


@dataclass
class NotifyCall:
    """One ``Notify`` call as the server received it."""

    app_name: str
    replaces_id: int
    summary: str
    body: str
    actions: list[str]
    hints: dict[str, Any]
    expire_timeout: int
    returned_id: int

    @property
    def value(self) -> int | None:
        hint = self.hints.get("value")
        return None if hint is None else int(hint)


@dataclass
class Recorder:
    """What the fake server saw; ``changed`` is set on every call."""

    notify: list[NotifyCall] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    open: dict[int, NotifyCall] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_until(self, predicate: Callable[[], bool], timeout_s: float = WAIT_S) -> None:
        """Wait (on ``changed``, never by sleeping) until ``predicate()`` holds."""
        async with asyncio.timeout(timeout_s):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()


class FakeNotificationServer(ServiceInterface):
    """Records ``Notify``/``CloseNotification`` calls and can emit the server's signals."""

    def __init__(self, capabilities: list[str]) -> None:
        super().__init__(INTERFACE)
        self.capabilities = capabilities
        self.recorder = Recorder()
        self._next_id = 1

    @dbus_method()
    def GetServerInformation(self) -> DBusServerInfo:
        return ["fake-notifications", "uidt tests", "1.0", "1.2"]

    @dbus_method()
    def GetCapabilities(self) -> DBusStrList:
        return self.capabilities

    @dbus_method()
    def Notify(
        self,
        app_name: DBusStr,
        replaces_id: DBusUInt32,
        app_icon: DBusStr,
        summary: DBusStr,
        body: DBusStr,
        actions: DBusStrList,
        hints: DBusDict,
        expire_timeout: DBusInt32,
    ) -> DBusUInt32:
        if replaces_id and replaces_id in self.recorder.open:
            server_id = replaces_id
        else:
            server_id = self._next_id
            self._next_id += 1
        call = NotifyCall(
            app_name,
            replaces_id,
            summary,
            body,
            list(actions),
            {k: v.value if isinstance(v, Variant) else v for k, v in hints.items()},
            expire_timeout,
            server_id,
        )
        self.recorder.notify.append(call)
        self.recorder.open[server_id] = call
        self.recorder.changed.set()
        return server_id

    @dbus_method()
    def CloseNotification(self, server_id: DBusUInt32):  # type: ignore[no-untyped-def]
        self.recorder.closed.append(server_id)
        if self.recorder.open.pop(server_id, None) is not None:
            self.NotificationClosed(server_id, 3)
        self.recorder.changed.set()

    @dbus_signal()
    def ActionInvoked(self, server_id: int, action_key: str) -> DBusIdAndKey:
        return [server_id, action_key]

    @dbus_signal()
    def NotificationClosed(self, server_id: int, reason: int) -> DBusIdAndReason:
        return [server_id, reason]

    def dismiss(self, server_id: int) -> None:
        """The user closes a notification (reason 2)."""
        self.recorder.open.pop(server_id, None)
        self.NotificationClosed(server_id, 2)
