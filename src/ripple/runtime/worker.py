"""The sandbox's side: confine itself, import the handler (Init), then serve invocations one at a time.

A sandbox starts either forked from the template process (which has already imported this module) or
as a fresh interpreter (``python -m ripple.runtime.worker``); either way the template has set up the
file descriptors: the control socket on :data:`CTL_FD`, the log pipe on :data:`LOG_FD` and on 1 and 2.
The first message on the control socket is the sandbox's spec (see ``Sandbox.spec``).
"""

from __future__ import annotations

import ctypes
import importlib
import io
import json
import logging
import os
import resource
import socket
import sys
import time
from typing import Any, NoReturn

from ripple.jsonfmt import python_loads
from ripple.runtime import failures, protocol
from ripple.runtime.context import LambdaContext

CTL_FD = 3
LOG_FD = 4

_CLONE_NEWNS = 0x00020000
_MS_REC, _MS_PRIVATE, _MS_BIND = 0x4000, 0x40000, 0x1000


def child_main() -> NoReturn:
    """Run the sandbox and exit the process; never returns (not even by exception)."""
    code = 70
    try:
        code = _main()
    except BaseException as exc:
        code = _exit_code_of(exc)
    finally:
        _flush_stdio()
        os._exit(code)


def _exit_code_of(exc: BaseException) -> int:
    if isinstance(exc, SystemExit):
        return exc.code if isinstance(exc.code, int) else 1
    try:
        os.write(2, f"ripple worker: {type(exc).__name__}: {exc}\n".encode())
    except OSError:
        pass
    return 70


def _main() -> int:
    ctl = protocol.Channel(socket.socket(fileno=CTL_FD))
    spec, _ = ctl.recv()
    _confine(spec)
    _set_environment(spec)
    _setup_stdio()
    handler, err = load_handler(spec["handler"])
    ctl.send({"t": "ready", "error": err})
    if err is not None:
        # Like awslambdaric: after an Init failure the runtime exits; the next invocation starts over.
        return 1
    return _serve(ctl, handler)


def _confine(spec: dict[str, Any]) -> None:
    """Join the sandbox's cgroups and mount a private, size-bounded /tmp, before any user code runs."""
    for procs in spec.get("cgroup_procs", []):
        with open(procs, "w") as f:
            f.write(str(os.getpid()))
    tmp_mb = spec.get("tmp_mb")
    if tmp_mb and not _private_tmp(int(tmp_mb), _visible_under_tmp(spec)):
        # No mount namespace here (not root): a private directory via TMPDIR, its size unbounded.
        os.makedirs(spec["tmp_fallback"], exist_ok=True)
        spec["env"]["TMPDIR"] = spec["tmp_fallback"]


def _visible_under_tmp(spec: dict[str, Any]) -> list[str]:
    """Folders under /tmp that must stay visible through the sandbox's private /tmp: the function's
    code, the state folder its handler's client opens, and the interpreter and its import path (a
    checkout or virtualenv under /tmp, as in CI or tests). Only the outermost of nested folders."""
    wanted = [spec["root"], spec["env"].get("RIPPLE_STATE", ""), sys.prefix, sys.base_prefix, *sys.path]
    real = {os.path.realpath(p) for p in wanted if p and os.path.isdir(p)}
    # /tmp itself is never re-exposed: that would undo the private /tmp.
    under = sorted(p for p in real if p.startswith("/tmp/"))
    out: list[str] = []
    for p in under:  # sorted, so a parent comes before its children
        if not any(p == q or p.startswith(q + "/") for q in out):
            out.append(p)
    return out


def _private_tmp(size_mb: int, visible: list[str]) -> bool:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(_CLONE_NEWNS) != 0:
        return False
    # Keep our mounts out of the host's namespace, then cover /tmp with a tmpfs of the function's size.
    if libc.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None) != 0:
        return False
    keep = {}
    for path in visible:
        if (path == "/tmp" or path.startswith("/tmp/")) and os.path.isdir(path):
            keep[path] = os.open(path, os.O_PATH)
    opts = f"size={size_mb}m,mode=1777".encode()
    if libc.mount(b"tmpfs", b"/tmp", b"tmpfs", 0, opts) != 0:
        return False
    for path, fd in sorted(keep.items(), key=lambda kv: len(kv[0])):  # parents before children
        # Bind the original folder back at its own path, through the descriptor opened before /tmp
        # was covered.
        os.makedirs(path, exist_ok=True)
        libc.mount(f"/proc/self/fd/{fd}".encode(), path.encode(), None, _MS_BIND, None)
        os.close(fd)
    return True


def _set_environment(spec: dict[str, Any]) -> None:
    os.environ.clear()
    os.environ.update(spec["env"])
    time.tzset()
    root = spec["root"]
    os.chdir(root)
    if root not in sys.path:
        sys.path.insert(0, root)


class _LambdaFormatter(logging.Formatter):
    """awslambdaric's text format: ``[LEVEL]\\t<UTC time>Z\\t<request id>\\t<message>``."""

    converter = time.gmtime

    def __init__(self) -> None:
        super().__init__(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n", "%Y-%m-%dT%H:%M:%S"
        )


class _RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


class _LogFdHandler(logging.Handler):
    """Writes records straight to the log pipe, so a handler that closes stdout still logs."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            os.write(LOG_FD, self.format(record).encode("utf-8", "backslashreplace"))
        except Exception:
            self.handleError(record)


_request_filter = _RequestIdFilter()


def _setup_stdio() -> None:
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    _reset_stdio()
    root = logging.getLogger()
    root.handlers.clear()
    handler = _LogFdHandler()
    handler.setFormatter(_LambdaFormatter())
    handler.addFilter(_request_filter)
    root.addHandler(handler)
    try:
        root.setLevel(os.environ.get("AWS_LAMBDA_LOG_LEVEL", "WARNING").upper())
    except ValueError:
        root.setLevel(logging.WARNING)  # an unknown level name must not break Init


def _text_stream(fd: int) -> io.TextIOWrapper:
    raw = io.FileIO(fd, "w", closefd=False)
    return io.TextIOWrapper(io.BufferedWriter(raw), encoding="utf-8", errors="backslashreplace", line_buffering=True)


def _reset_stdio() -> None:
    """Point fds 1 and 2 at the log pipe again: a previous invocation may have closed them."""
    os.dup2(LOG_FD, 1)
    os.dup2(LOG_FD, 2)
    if getattr(sys.stdout, "closed", True):
        sys.stdout = _text_stream(1)
    if getattr(sys.stderr, "closed", True):
        sys.stderr = _text_stream(2)


def _flush_stdio() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def load_handler(handler: str) -> tuple[Any, dict[str, Any] | None]:
    """Import ``module.function`` as awslambdaric does; return ``(callable, None)`` or ``(None, error)``."""
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as exc:
        return None, failures.error(failures.MALFORMED_HANDLER, f"Bad handler '{handler}': {exc}")
    modname = modname.replace("/", ".")
    if modname in sys.builtin_module_names:
        msg = f"Cannot use built-in module {modname} as a handler module"
        return None, failures.error(failures.BUILTIN_CONFLICT, msg)
    try:
        module = importlib.import_module(modname)
    except ImportError as exc:
        return None, failures.error(failures.IMPORT_MODULE, f"Unable to import module '{modname}': {exc}")
    except SyntaxError as exc:
        return None, failures.error(failures.SYNTAX, f"Syntax error in module '{modname}': {exc}")
    except Exception as exc:
        err = failures.from_exception(exc, skip_frames=1)
        _log_error(err)
        return None, err
    fn = getattr(module, fname, None)
    if fn is None:
        return None, failures.error(failures.HANDLER_NOT_FOUND, f"Handler '{fname}' missing on module '{modname}'")
    return fn, None


def _log_error(err: dict[str, Any]) -> None:
    try:
        os.write(LOG_FD, failures.log_lines(err).encode("utf-8", "backslashreplace"))
    except OSError:
        pass


def _serve(ctl: protocol.Channel, handler: Any) -> int:
    me = os.getpid()
    perf_counter = time.perf_counter
    getrusage, own, children = resource.getrusage, resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN
    while True:
        try:
            request, body = ctl.recv()
        except EOFError:
            return 0
        started = perf_counter()
        response, payload = _invoke(handler, request, body)
        if os.getpid() != me:
            # The handler forked and this child came back out of it: it must not answer as the sandbox.
            os._exit(0)
        _flush_stdio()
        token = request.get("mark")
        if token:
            # The pool may have queued the next invocation already: tell it where this one's output
            # ends (after it, before the answer, so the mark is in the pipe when the answer arrives).
            try:
                os.write(LOG_FD, protocol.log_mark(token))
            except OSError:
                pass  # the handler closed the log pipe: the pool goes by the answer alone
        response["maxrss_kb"] = max(getrusage(own).ru_maxrss, getrusage(children).ru_maxrss)
        # The pool cannot see when a queued invocation started: this is its duration.
        response["ms"] = (perf_counter() - started) * 1000
        ctl.send(response, payload)


def _invoke(handler: Any, request: dict[str, Any], body: bytes) -> tuple[dict[str, Any], bytes]:
    rid = request["id"]
    # The deadline counts from now: a queued invocation may have waited for the one before it.
    deadline_ms = request.get("deadline_ms") or int(time.time() * 1000) + request["timeout_ms"]
    os.environ["_X_AMZN_TRACE_ID"] = request.get("trace", "")
    # How many triggered invocations led to this one: the handler's writes carry it into the change
    # log, so the dispatcher can stop a chain that loops (Lambda's recursive loop detection). Set
    # only when it changes: each putenv searches the whole C environment.
    hops = str(request.get("hops", 0))
    if os.environ.get("RIPPLE_CHAIN_HOPS") != hops:
        os.environ["RIPPLE_CHAIN_HOPS"] = hops
    _request_filter.request_id = rid
    _reset_stdio()
    if body == b"{}" or not body:
        event: Any = {}  # the common empty event, without a trip through the JSON decoder
    else:
        try:
            event = python_loads(body)
        except ValueError as exc:
            return _failed(failures.error(failures.UNMARSHAL, f"Unable to unmarshal input: {exc}", rid))
    context = LambdaContext(rid, deadline_ms, request["arn"], request.get("client_context"), request.get("identity"))
    try:
        result = handler(event, context)
    except Exception as exc:
        return _failed(failures.from_exception(exc, rid, skip_frames=1))
    if result is None:
        return {"ok": True}, b"null"  # what json.dumps(None) gives, without the encoder
    try:
        payload = json.dumps(result).encode()
    except (TypeError, ValueError) as exc:
        return _failed(failures.error(failures.MARSHAL, f"Unable to marshal response: {exc}", rid))
    limit = request["max_response"]
    if len(payload) > limit:
        msg = f"Response payload size ({len(payload)} bytes) exceeded maximum allowed payload size ({limit} bytes)."
        return _failed(failures.error(failures.RESPONSE_TOO_LARGE, msg, rid))
    return {"ok": True}, payload


def _failed(err: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    _flush_stdio()
    _log_error(err)
    return {"ok": False, "error_type": err["errorType"]}, json.dumps(err).encode()


if __name__ == "__main__":
    child_main()
