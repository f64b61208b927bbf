"""Handlers that fail in every way issue 3 §4 lists; each must cost only its own sandbox."""

import ctypes
import os
import subprocess
import sys

from ripple.app import App

app = App("failing")
app.function("import_error", handler="broken_import.handler")
app.function("syntax_error", handler="broken_syntax.handler")
app.function("missing_handler", handler="failing.no_such_handler")


@app.function()
def exits(event, context):
    os._exit(3)


@app.function()
def segfault(event, context):
    ctypes.string_at(0)


@app.function(memory_mb=128)
def hog(event, context):
    chunks = []
    while True:
        chunks.append(b"\x01" * (8 << 20))  # touched pages, so resident


@app.function(timeout=1)
def stubborn_child(event, context):
    # A grandchild that ignores SIGTERM, then the handler hangs: the timeout must take both down.
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
            "print('child ready', flush=True); time.sleep(600)",
        ]
    )
    print(f"child pid {child.pid}", flush=True)
    while True:
        pass


@app.function()
def close_stdout(event, context):
    print("before closing")
    sys.stdout.close()
    os.close(1)
    return "closed"


@app.function(timeout=60)
def flood(event, context):
    chunk = ("x" * 1023 + "\n") * 1024  # 1 MB of lines
    for _ in range(event.get("mb", 100)):
        sys.stdout.write(chunk)
    return "flooded"


@app.function(timeout=2)
def fork_loop(event, context):
    while True:
        os.fork()


@app.function(timeout=1)
def spin(event, context):
    while True:
        pass


@app.function()
def unmarshalable(event, context):
    return {1, 2}


@app.function()
def big_response(event, context):
    return "x" * (7 * 1024 * 1024)


@app.function()
def exit_call(event, context):
    sys.exit(2)


@app.function()
def ok(event, context):
    return "ok"


@app.function()
def kill_parent(event, context):
    # The sandbox's parent is the template process that forks cold starts.
    import signal

    os.kill(os.getppid(), signal.SIGKILL)
    return "killed"


@app.function()
def ok_too(event, context):
    return "ok"


@app.function()
def scribble(event, context):
    # Garbage on the sandbox's control socket (fd 3): the pool must not trust it.
    os.write(3, b"\xff" * 64)
    return "scribbled"


@app.function()
def daemonize(event, context):
    # A grandchild in its own session, outliving the invocation: it is still the sandbox's.
    child = subprocess.Popen(["sleep", "600"], start_new_session=True)
    return child.pid
