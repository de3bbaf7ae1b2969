"""The exception tree: every uidt error is a UidtError and the builtin Android developers expect."""

from __future__ import annotations

import inspect

import pytest

from uidt import errors
from uidt.errors import JobStopped, UidtError

EXPECTED_BUILTIN: dict[str, type[BaseException]] = {
    "InvalidJobError": ValueError,
    "JobPermissionError": PermissionError,
    "JobLimitError": RuntimeError,
    "ManifestError": ValueError,
    "SettingsError": ValueError,
    "ScenarioError": ValueError,
    "RenderError": RuntimeError,
    "StoreError": OSError,
    "StoreCorruptError": OSError,
    "StoreVersionError": OSError,
    "LeaseLostError": OSError,
    "DaemonError": ConnectionError,
    "DaemonConnectionLost": ConnectionError,
    "ProtocolError": ValueError,
    "IllegalTransitionError": RuntimeError,
    "TransferError": OSError,
    "RemoteError": OSError,
    "InconsistentServerError": OSError,
    "ResourceChangedError": OSError,
    "IntegrityError": OSError,
    "NoSpaceError": OSError,
    "DestinationBusyError": OSError,
    "HolderNotGoneError": OSError,
    "FencedOffError": OSError,
    "UnsafeFileError": OSError,
    "InsecureRedirectError": OSError,
    "ServerCertificateError": OSError,
    "ProxyError": OSError,
    "RetryLaterError": OSError,
}

ERROR_CLASSES = [
    cls
    for _, cls in inspect.getmembers(errors, inspect.isclass)
    if cls.__module__ == errors.__name__ and cls not in (UidtError, JobStopped)
]


def test_every_error_class_is_listed_here() -> None:
    assert sorted(cls.__name__ for cls in ERROR_CLASSES) == sorted(EXPECTED_BUILTIN)


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_error_derives_from_uidt_error_and_its_builtin(cls: type[Exception]) -> None:
    assert issubclass(cls, UidtError)
    assert issubclass(cls, EXPECTED_BUILTIN[cls.__name__])
    error = cls("boom")
    assert str(error) == "boom"
    with pytest.raises(EXPECTED_BUILTIN[cls.__name__]):
        raise error


@pytest.mark.parametrize(
    ("child", "parent"),
    [
        (errors.StoreCorruptError, errors.StoreError),
        (errors.StoreVersionError, errors.StoreError),
        (errors.LeaseLostError, errors.StoreError),
        (errors.RemoteError, errors.TransferError),
        (errors.RetryLaterError, errors.TransferError),
        (errors.HolderNotGoneError, errors.RetryLaterError),
        (errors.HolderNotGoneError, errors.DestinationBusyError),
        (errors.InconsistentServerError, errors.RemoteError),
        (errors.ResourceChangedError, errors.TransferError),
        (errors.IntegrityError, errors.TransferError),
        (errors.NoSpaceError, errors.TransferError),
        (errors.ServerCertificateError, errors.TransferError),
    ],
)
def test_error_hierarchy(child: type[Exception], parent: type[Exception]) -> None:
    assert issubclass(child, parent)


def test_uidt_error_is_an_exception() -> None:
    assert issubclass(UidtError, Exception)


def test_job_stopped_escapes_except_exception() -> None:
    assert issubclass(JobStopped, BaseException)
    assert not issubclass(JobStopped, Exception)

    def app_code() -> None:
        try:
            raise JobStopped
        except Exception:  # an app's over-broad handler must not swallow a stop
            pytest.fail("except Exception caught JobStopped")

    with pytest.raises(JobStopped):
        app_code()
