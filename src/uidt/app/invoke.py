"""Calling an app's ``JobService``: import it by name, call one of its callbacks.

Shared by the app's worker process (:mod:`uidt.host.worker`) and the foreground fallback
(:mod:`uidt.app.fallback`), which runs a service in the calling process when no daemon can.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
import inspect
from typing import Any

from uidt.app.service import JobService
from uidt.job.params import JobParameters


def load_service(name: str) -> type[JobService]:
    """Import ``module:Class`` and check that it is a :class:`JobService` subclass.

    Raises:
        ImportError, AttributeError, TypeError: the name does not lead to a JobService.
    """
    module_name, _, qualname = name.partition(":")
    target: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part)
    if not (isinstance(target, type) and issubclass(target, JobService)):
        raise TypeError(f"{name} is not a uidt.JobService subclass")
    return target


async def invoke_callback(
    method: Any,
    params: JobParameters,
    executor: concurrent.futures.Executor | None = None,
) -> Any:
    """Call a callback: a coroutine function on this loop, a plain one in a thread."""
    if inspect.iscoroutinefunction(method):
        return await method(params)
    result = await asyncio.get_running_loop().run_in_executor(executor, method, params)
    if inspect.isawaitable(result):
        result = await result
    return result
