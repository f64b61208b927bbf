"""Lambda's error shape and the error types the runtime reports (aws-semantics.md §6.2).

A failed invocation's payload is ``{"errorMessage", "errorType", "requestId", "stackTrace"}``.
"""

from __future__ import annotations

import os
import signal
import traceback
from typing import Any

IMPORT_MODULE = "Runtime.ImportModuleError"
HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
SYNTAX = "Runtime.UserCodeSyntaxError"
MALFORMED_HANDLER = "Runtime.MalformedHandlerName"
BUILTIN_CONFLICT = "Runtime.BuiltInModuleConflict"
MARSHAL = "Runtime.MarshalError"
UNMARSHAL = "Runtime.UnmarshalError"
EXIT = "Runtime.ExitError"
OUT_OF_MEMORY = "Runtime.OutOfMemory"
RESPONSE_TOO_LARGE = "Function.ResponseSizeTooLarge"
TIMEOUT = "Sandbox.Timedout"

# The runtime is a Go program on Lambda, so exit reasons read as Go's os.ProcessState prints them.
_SIGNAL_WORDS = {
    signal.SIGSEGV: "segmentation fault",
    signal.SIGKILL: "killed",
    signal.SIGABRT: "aborted",
    signal.SIGTERM: "terminated",
    signal.SIGBUS: "bus error",
    signal.SIGFPE: "floating point exception",
    signal.SIGILL: "illegal instruction",
}


def error(error_type: str, message: str, request_id: str = "", stack: list[str] | None = None) -> dict[str, Any]:
    """Build Lambda's error object."""
    return {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": stack or []}


def from_exception(exc: BaseException, request_id: str = "", *, skip_frames: int = 0) -> dict[str, Any]:
    """The error object awslambdaric builds for an exception raised by user code.

    ``skip_frames`` drops the runtime's own frames from the top of the traceback.
    """
    frames = traceback.extract_tb(exc.__traceback__)[skip_frames:]
    return error(type(exc).__name__, str(exc), request_id, traceback.format_list(frames))


def exit_reason(wait_status: int) -> str:
    """``exit status 3`` or ``signal: segmentation fault``, from a raw ``waitpid`` status."""
    code = _exitcode(wait_status)
    if code >= 0:
        return f"exit status {code}"
    sig = -code
    try:
        word = _SIGNAL_WORDS.get(signal.Signals(sig), signal.Signals(sig).name.lower())
    except ValueError:
        word = str(sig)
    return f"signal: {word}"


def _exitcode(wait_status: int) -> int:
    try:
        return os.waitstatus_to_exitcode(wait_status)
    except ValueError:
        return -1


def log_lines(err: dict[str, Any]) -> str:
    """The text awslambdaric logs for a failed invocation: ``[ERROR] Type: message`` and the trace."""
    text = f"[ERROR] {err['errorType']}: {err['errorMessage']}"
    if err.get("stackTrace"):
        text += "\nTraceback (most recent call last):\n" + "".join(err["stackTrace"]).rstrip("\n")
    return text + "\n"
