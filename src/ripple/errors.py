"""One exception tree for all of ripple.

Every error a user can cause derives from :class:`RippleError` and carries ``code``, the name AWS gives
the same failure (``NoSuchBucket``, ``ConditionalCheckFailedException``, ...), and ``status``, the HTTP
status the gateway will answer with. Messages name the offending value, so the CLI can print
``str(err)`` as its one line.
"""

from __future__ import annotations


class RippleError(Exception):
    """Base of every error ripple raises on purpose."""

    code: str = "InternalError"
    status: int = 500

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


# --- bad input -------------------------------------------------------------------------------------


class ValidationError(RippleError, ValueError):
    """The request is malformed: a bad name, key, value, expression or option. Nothing was changed."""

    code = "ValidationException"
    status = 400


class InvalidBucketName(ValidationError):
    code = "InvalidBucketName"


class InvalidKey(ValidationError):
    """An object key that is not valid UTF-8, is empty, or is longer than 1024 bytes."""

    code = "KeyTooLongError"


class InvalidRange(ValidationError):
    code = "InvalidRange"
    status = 416


class ExpressionError(ValidationError):
    """A condition, update, key-condition, filter or projection expression that cannot be parsed or
    refers to an undefined name (``#n``) or value (``:v``)."""


class ItemTooLarge(ValidationError):
    """An item over DynamoDB's 400 KB limit."""


class PayloadTooLarge(ValidationError):
    code = "RequestEntityTooLargeException"
    status = 413


class InvalidRequestContent(ValidationError):
    """An invocation payload that is not JSON, or a bad invocation option. Nothing ran."""

    code = "InvalidRequestContentException"


class RequestTooLarge(PayloadTooLarge):
    """An invocation payload over 6 MB (synchronous) or 1 MB (asynchronous). Nothing ran."""

    code = "RequestTooLargeException"


# --- missing or conflicting resources ---------------------------------------------------------------


class NotFound(RippleError, LookupError):
    code = "ResourceNotFoundException"
    status = 404


class NoSuchBucket(NotFound):
    code = "NoSuchBucket"


class NoSuchKey(NotFound):
    code = "NoSuchKey"


class Conflict(RippleError):
    code = "ResourceInUseException"
    status = 409


class BucketAlreadyExists(Conflict):
    code = "BucketAlreadyOwnedByYou"


class BucketNotEmpty(Conflict):
    code = "BucketNotEmpty"


class ConditionalCheckFailed(RippleError):
    """A condition expression evaluated to false; the write was not made and no change record exists.

    ``item`` holds the item as it stood, when the caller asked for it (ReturnValuesOnConditionCheckFailure).
    """

    code = "ConditionalCheckFailedException"
    status = 400

    def __init__(self, message: str = "The conditional request failed", *, item: dict | None = None):
        super().__init__(message)
        self.item = item


class TransactionCanceled(RippleError):
    """A TransactWriteItems call wrote nothing because an action's condition failed.

    ``reasons`` has one entry per action, in order, as DynamoDB's CancellationReasons:
    ``{"Code": "None"}`` or ``{"Code": "ConditionalCheckFailed", "Message": ..., "Item": ...}``
    (``Item`` when the action asked for it with ``return_old_on_failure``)."""

    code = "TransactionCanceledException"
    status = 400

    def __init__(self, reasons: list[dict]):
        codes = ", ".join(r["Code"] for r in reasons)
        super().__init__(f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]")
        self.reasons = reasons


# --- invoking functions ------------------------------------------------------------------------------


class TooManyRequests(RippleError):
    """A synchronous invocation found no free concurrency (reserved or global). Nothing ran.

    ``reason`` is Lambda's: ``ReservedFunctionConcurrentInvocationLimitExceeded`` or
    ``ConcurrentInvocationLimitExceeded``.
    """

    code = "TooManyRequestsException"
    status = 429

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class SandboxError(RippleError):
    """The platform could not start a sandbox at all (not the handler's fault): the template process
    is gone and cannot be restarted, or the machine refuses to fork."""

    code = "ServiceException"
    status = 500


# --- the change log ---------------------------------------------------------------------------------


class TrimmedData(RippleError):
    """A reader asked for a position that retention has already removed: records were lost to it."""

    code = "TrimmedDataAccessException"
    status = 400


# --- the state folder -------------------------------------------------------------------------------


class AppFailed(RippleError):
    """An app did not do its part: its process exited, or it did not finish in time (``ripple demo``)."""

    code = "AppFailed"


class StateError(RippleError):
    """The state folder cannot be used: unreadable, read-only, full, or written by a newer ripple."""

    code = "StateError"
    status = 500


class StateReadOnly(StateError):
    code = "StateReadOnly"


class StateFull(StateError):
    code = "StateFull"


class StateTooNew(StateError):
    code = "StateTooNew"


class StateBusy(StateError):
    """Another platform already runs this app on this state folder (two would deliver every event
    twice)."""

    code = "StateBusy"
