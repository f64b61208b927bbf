"""Website buckets over real HTTP: a uvicorn server on 127.0.0.1 serving a real state folder.

Requests name their bucket by Host header (``<bucket>.localhost:PORT``); this machine's resolver
need not know ``*.localhost``, so every request connects to 127.0.0.1 and sends the Host itself.
Hostile request lines go through a raw socket, since HTTP clients normalize paths.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import threading
import tracemalloc
from dataclasses import dataclass
from email.utils import formatdate

import httpx
import pytest

import ripple
from ripple.errors import StateError
from ripple.http import serve_in_thread

SECRET = b"PRIVATE-SECRET"
OTHER = b"OTHER-SITE-CONTENT"
BIG = 24 * 1024 * 1024


@dataclass
class Served:
    handle: object
    client: ripple.Client
    big_sha: str

    @property
    def port(self) -> int:
        return self.handle.port


def big_chunks():
    # Deterministic, incompressible-looking bytes without holding them all in memory.
    for i in range(BIG // (1024 * 1024)):
        yield hashlib.sha256(str(i).encode()).digest() * (1024 * 1024 // 32)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    state = tmp_path_factory.mktemp("http") / "state"
    with ripple.connect(state) as c:
        site = c.create_bucket("site", website={"index": "index.html", "error": "404.html"})
        site.put("index.html", b"<h1>home</h1>", content_type="text/html; charset=utf-8")
        site.put("404.html", b"<h1>not here</h1>", content_type="text/html")
        site.put("docs/index.html", b"<h1>docs</h1>", content_type="text/html")
        site.put("file", b"a file, not a folder")
        site.put("file/index.html", b"shadowed by the object 'file'")
        site.put("style.css", b"body{}")  # no content type given: guessed from the extension
        site.put("data.ripplebin", b"\x00\x01")  # no type, unknown extension
        site.put("digits.txt", b"0123456789", content_type="text/plain", metadata={"owner": "me"})
        site.put("../private/secret.txt", b"SITE-DOTDOT")  # a key, not a path: it stays in 'site'
        site.put("a b/\u00fc.txt", b"unicode key")
        site.put("a+b.txt", b"plus is not a space")
        site.put("%20", b"percent-two-zero key")
        site.put("x/y", b"slash key")
        site.put("/evil.example/index.html", b"leading-slash key")
        site.put("empty.txt", b"")
        big = site.put("big.bin", big_chunks(), content_type="application/octet-stream")
        c.create_bucket("plain-site", website={"index": "index.html"}).put("index.html", b"plain home")
        c.create_bucket("broken-error", website={"index": "index.html", "error": "gone.html"})
        c.create_bucket("other", website={"index": "index.html"}).put("secret.txt", OTHER)
        c.create_bucket("private").put("secret.txt", SECRET)
        c.bucket("private").put("index.html", SECRET)
        sha = hashlib.sha256()
        for chunk in big_chunks():
            sha.update(chunk)
        assert big.size == BIG
        with serve_in_thread(state) as handle:
            yield Served(handle, c, sha.hexdigest())


def http(served: Served, bucket: str = "site") -> httpx.Client:
    return httpx.Client(
        base_url=f"http://127.0.0.1:{served.port}",
        headers={"Host": f"{bucket}.localhost:{served.port}"},
        timeout=30,
    )


def get(served: Served, path: str, *, bucket: str = "site", method: str = "GET", **headers: str) -> httpx.Response:
    with http(served, bucket) as c:
        return c.request(method, path, headers={k.replace("_", "-"): v for k, v in headers.items()})


def raw(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` exactly as given and read the whole reply (the request asks to close)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return int(lines[0].split()[1]), headers, body


def raw_get(port: int, target: bytes, host: bytes | None = b"site.localhost") -> tuple[int, dict[str, str], bytes]:
    host_line = b"" if host is None else b"Host: " + host + b"\r\n"
    return raw(port, b"GET " + target + b" HTTP/1.1\r\n" + host_line + b"Connection: close\r\n\r\n")


# --- documents, folders, errors ----------------------------------------------------------------------


def test_root_and_folders_serve_their_index_document(served):
    r = get(served, "/")
    assert (r.status_code, r.content) == (200, b"<h1>home</h1>")
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    r = get(served, "/docs/")
    assert (r.status_code, r.content) == (200, b"<h1>docs</h1>")


def test_folder_without_slash_redirects_to_the_folder(served):
    r = get(served, "/docs")
    assert r.status_code == 302 and r.headers["location"] == "/docs/"
    assert get(served, "/docs", method="HEAD").status_code == 302
    # An object named like the folder wins, as in S3.
    r = get(served, "/file")
    assert (r.status_code, r.content) == (200, b"a file, not a folder")


def test_missing_key_serves_the_error_document_with_404(served):
    r = get(served, "/nope.html")
    assert (r.status_code, r.content, r.headers["content-type"]) == (404, b"<h1>not here</h1>", "text/html")
    r = get(served, "/nope.html", method="HEAD")
    assert (r.status_code, r.content, r.headers["content-length"]) == (404, b"", str(len(b"<h1>not here</h1>")))
    r = get(served, "/no-folder/")  # a folder without an index document
    assert (r.status_code, r.content) == (404, b"<h1>not here</h1>")


def test_missing_key_without_an_error_document_gets_a_plain_404(served):
    for bucket in ("plain-site", "broken-error"):  # none configured; configured but missing
        r = get(served, "/nope.html", bucket=bucket)
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/plain")
        assert "nope.html" in r.text
    r = get(served, "/", bucket="broken-error")  # not even an index document
    assert r.status_code == 404


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_only_get_and_head_are_allowed(served, method):
    r = get(served, "/index.html", method=method)
    assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"
    assert served.client.bucket("site").read("index.html") == b"<h1>home</h1>"


def test_head_returns_the_headers_of_get_without_a_body(served):
    g, h = get(served, "/digits.txt"), get(served, "/digits.txt", method="HEAD")
    assert h.status_code == 200 and h.content == b""
    for name in ("content-type", "content-length", "etag", "last-modified"):
        assert h.headers[name] == g.headers[name]
    assert h.headers["content-length"] == "10"


# --- headers -----------------------------------------------------------------------------------------


def test_content_type_is_the_stored_one_else_guessed(served):
    assert get(served, "/digits.txt").headers["content-type"] == "text/plain"
    assert get(served, "/style.css").headers["content-type"] == "text/css"
    assert get(served, "/data.ripplebin").headers["content-type"] == "binary/octet-stream"


def test_etag_last_modified_and_metadata(served):
    info = served.client.bucket("site").head("digits.txt")
    r = get(served, "/digits.txt")
    assert r.headers["etag"] == info.etag == f'"{hashlib.md5(b"0123456789").hexdigest()}"'
    assert r.headers["last-modified"] == formatdate(int(info.last_modified), usegmt=True)
    assert r.headers["x-amz-meta-owner"] == "me"
    assert r.headers["accept-ranges"] == "bytes"


def test_conditional_requests_answer_304(served):
    r = get(served, "/digits.txt")
    etag, modified = r.headers["etag"], r.headers["last-modified"]
    for headers in (
        {"if_none_match": etag},
        {"if_none_match": f'"other", W/{etag}'},
        {"if_none_match": "*"},
        {"if_modified_since": modified},
        {"if_modified_since": formatdate(4102444800, usegmt=True)},  # 2100
    ):
        r = get(served, "/digits.txt", **headers)
        assert (r.status_code, r.content, r.headers["etag"]) == (304, b"", etag), headers
    for headers in (
        {"if_none_match": '"other"'},
        {"if_modified_since": "Thu, 01 Jan 1970 00:00:00 GMT"},
        {"if_modified_since": "not a date"},
        # If-None-Match decides alone when both are sent.
        {"if_none_match": '"other"', "if_modified_since": formatdate(4102444800, usegmt=True)},
    ):
        r = get(served, "/digits.txt", **headers)
        assert (r.status_code, r.content) == (200, b"0123456789"), headers
    assert get(served, "/digits.txt", method="HEAD", if_none_match=etag).status_code == 304


@pytest.mark.parametrize(
    ("spec", "body", "crange"),
    [
        ("bytes=2-4", b"234", "bytes 2-4/10"),
        ("bytes=7-", b"789", "bytes 7-9/10"),
        ("bytes=-3", b"789", "bytes 7-9/10"),
        ("bytes=8-100", b"89", "bytes 8-9/10"),
        ("bytes=-100", b"0123456789", "bytes 0-9/10"),
    ],
)
def test_byte_ranges(served, spec, body, crange):
    r = get(served, "/digits.txt", range=spec)
    assert (r.status_code, r.content, r.headers["content-range"]) == (206, body, crange)
    assert r.headers["content-length"] == str(len(body))
    h = get(served, "/digits.txt", method="HEAD", range=spec)
    assert (h.status_code, h.content, h.headers["content-length"]) == (206, b"", str(len(body)))


def test_unsatisfiable_and_ignored_ranges(served):
    for spec, path in (("bytes=10-", "/digits.txt"), ("bytes=-0", "/digits.txt"), ("bytes=0-", "/empty.txt")):
        r = get(served, path, range=spec)
        assert r.status_code == 416, spec
        assert r.headers["content-range"] == f"bytes */{10 if path == '/digits.txt' else 0}"
    etag = get(served, "/digits.txt").headers["etag"]
    assert get(served, "/digits.txt", range="bytes=10-", if_none_match=etag).status_code == 304  # before 416
    # Malformed, reversed or multiple ranges are ignored: the whole object, as S3 does.
    for spec in ("bytes=5-2", "bytes=0-1,4-5", "items=0-1", "bytes=-", "bytes=x-"):
        r = get(served, "/digits.txt", range=spec)
        assert (r.status_code, r.content) == (200, b"0123456789"), spec


def test_if_range_keeps_or_drops_the_range(served):
    etag = get(served, "/digits.txt").headers["etag"]
    r = get(served, "/digits.txt", range="bytes=0-1", if_range=etag)
    assert (r.status_code, r.content) == (206, b"01")
    r = get(served, "/digits.txt", range="bytes=0-1", if_range='"stale"')
    assert (r.status_code, r.content) == (200, b"0123456789")
    modified = get(served, "/digits.txt").headers["last-modified"]
    assert get(served, "/digits.txt", range="bytes=0-1", if_range=modified).status_code == 206
    r = get(served, "/digits.txt", range="bytes=0-1", if_range="Thu, 01 Jan 1970 00:00:00 GMT")
    assert (r.status_code, r.content) == (200, b"0123456789")
    r = get(served, "/digits.txt", range="bytes=50-", if_range='"stale"')  # stale wins over 416
    assert (r.status_code, r.content) == (200, b"0123456789")


# --- keys: percent-decoding once, nothing else ------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "body"),
    [
        ("/a%20b/%C3%BC.txt", b"unicode key"),
        ("/a+b.txt", b"plus is not a space"),
        ("/%2520", b"percent-two-zero key"),  # decoded once: the key is '%20'
        ("/x%2Fy", b"slash key"),
        ("/x/y", b"slash key"),
    ],
)
def test_the_key_is_the_path_percent_decoded_once(served, target, body):
    status, _, got = raw_get(served.port, target.encode())
    assert (status, got) == (200, body)


def test_redirect_never_points_at_another_host(served):
    # Key '/evil.example/index.html' exists; '//evil.example' must not redirect to '//evil.example/'.
    status, headers, _ = raw_get(served.port, b"//evil.example")
    assert status == 302 and headers["location"] == "/%2Fevil.example/"
    status, _, body = raw_get(served.port, headers["location"].encode())
    assert (status, body) == (200, b"leading-slash key")


HOSTILE_TARGETS = [
    b"/../private/secret.txt",
    b"/%2e%2e/private/secret.txt",
    b"/%2E%2E%2Fprivate%2Fsecret.txt",
    b"/..%2fprivate%2fsecret.txt",
    b"/..\\private\\secret.txt",
    b"/%5c..%5cprivate%5csecret.txt",
    b"/%252e%252e/private/secret.txt",
    b"/%252e%252e%252fprivate%252fsecret.txt",
    b"/private/secret.txt",
    b"/other/secret.txt",
    b"/secret.txt",
    b"/secret.txt?bucket=private",
    b"//private.localhost/secret.txt",
    b"/../../../../../../etc/passwd",
    b"/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    b"/etc/passwd",
    b"/%00",
    b"/secret.txt%00.html",
    b"/%ff%fe",
    b"/%c0%ae%c0%ae/private/secret.txt",  # overlong UTF-8 for '..'
    b"http://private.localhost/secret.txt",
    b"http://other.localhost/secret.txt",
    b"https://private.localhost:1/secret.txt",
    b"*",
]


@pytest.mark.parametrize("target", HOSTILE_TARGETS)
def test_hostile_paths_never_leave_the_bucket(served, target):
    status, _, body = raw_get(served.port, target)
    assert SECRET not in body and OTHER not in body and b"root:" not in body
    if status == 200:
        # Only an object of 'site' itself, under the key the path names.
        assert body == b"SITE-DOTDOT" and target in HOSTILE_TARGETS[:4]
    else:
        assert status in (400, 404), (target, status)


def test_dot_segments_are_key_characters_in_the_same_bucket(served):
    for target in HOSTILE_TARGETS[:4]:
        assert raw_get(served.port, target)[::2] == (200, b"SITE-DOTDOT")
    assert raw_get(served.port, b"/%00")[0] == 400
    assert raw_get(served.port, b"/%ff%fe")[0] == 400
    assert raw_get(served.port, b"http://private.localhost/secret.txt")[0] == 400
    assert raw_get(served.port, b"/" + b"k" * 1100)[0] == 400  # longer than S3's 1024-byte keys


@pytest.mark.parametrize(
    "host",
    [
        b"private.localhost",  # a bucket, but not a website
        b"missing.localhost",
        b"127.0.0.1",
        b"127.0.0.1:PORT",
        b"[::1]:PORT",
        b"localhost:PORT",
        b"site.localhost.evil.example",
        b"evil.example",
        b"site.localhost@private.localhost",
        b"private.localhost/site.localhost",
        b"site.localhost, private.localhost",
        b"xn--site.localhost",
        b"s3.localhost",
        b"",
        None,
    ],
)
def test_hosts_that_name_no_website_bucket_get_404(served, host):
    if host is not None:
        host = host.replace(b"PORT", str(served.port).encode())
    for target in (b"/", b"/secret.txt", b"/index.html"):
        status, headers, body = raw_get(served.port, target, host=host)
        assert SECRET not in body and OTHER not in body
        assert status in (400, 404), (host, target, status)
        if status == 404:
            assert headers["content-type"].startswith("text/plain")
    if host == b"private.localhost":
        assert b"not a website bucket" in raw_get(served.port, b"/", host=host)[2]


def test_duplicate_host_headers_are_refused(served):
    request = b"GET /secret.txt HTTP/1.1\r\nHost: site.localhost\r\nHost: other.localhost\r\nConnection: close\r\n\r\n"
    status, _, body = raw(served.port, request)
    assert status in (400, 404) and OTHER not in body


def test_host_names_are_case_insensitive_and_may_end_in_a_dot(served):
    for host in (b"SITE.LocalHost", b"site.localhost.", f"site.localhost:{served.port}".encode()):
        assert raw_get(served.port, b"/", host=host)[::2] == (200, b"<h1>home</h1>")
    assert raw_get(served.port, b"/secret.txt", host=b"other.localhost")[::2] == (200, OTHER)


def test_a_bucket_made_after_start_is_served(served):
    r = get(served, "/", bucket="late-site")
    assert r.status_code == 404
    b = served.client.create_bucket("late-site", website={"index": "home.htm"})
    b.put("home.htm", b"late home")
    b.put("sub/home.htm", b"late sub")
    assert get(served, "/", bucket="late-site").content == b"late home"
    assert get(served, "/sub", bucket="late-site").headers["location"] == "/sub/"
    assert get(served, "/sub/", bucket="late-site").content == b"late sub"


# --- large bodies, concurrency --------------------------------------------------------------------------


def test_large_objects_stream_without_being_held_in_memory(served):
    tracemalloc.start()  # traces every thread of this process, so the server's too
    try:
        sha = hashlib.sha256()
        with http(served) as c, c.stream("GET", "/big.bin") as r:
            assert r.status_code == 200 and r.headers["content-length"] == str(BIG)
            for chunk in r.iter_raw():
                sha.update(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sha.hexdigest() == served.big_sha
    assert peak < BIG // 4, f"peak {peak} bytes while serving {BIG}"
    first, last = 3 * 1024 * 1024 - 7, 5 * 1024 * 1024 + 11  # across chunk boundaries
    r = get(served, "/big.bin", range=f"bytes={first}-{last}")
    expected = b"".join(big_chunks())[first : last + 1]
    assert (r.status_code, r.content) == (206, expected)


def test_a_client_that_hangs_up_mid_body_leaves_the_server_healthy(served):
    for _ in range(3):
        with http(served) as c, c.stream("GET", "/big.bin") as r:
            assert r.status_code == 200
            next(r.iter_raw())
        # leaving the block closes the connection with most of the body unsent
    assert get(served, "/digits.txt").content == b"0123456789"


def test_concurrent_requests_from_many_threads(served):
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            with http(served) as c:
                for i in range(10):
                    r = c.get("/digits.txt", headers={"Range": f"bytes={(n + i) % 10}-"})
                    assert r.content == b"0123456789"[(n + i) % 10 :]
                    assert c.get("/docs/").content == b"<h1>docs</h1>"
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    served.client.bucket("site").put("written-meanwhile.txt", b"w")
    for t in threads:
        t.join()
    assert not errors, errors[0]
    assert get(served, "/written-meanwhile.txt").content == b"w"


# --- the Python API -------------------------------------------------------------------------------------


def test_serve_in_thread_picks_free_ports_and_closes_cleanly(tmp_path):
    with ripple.connect(tmp_path / "s") as c:
        c.create_bucket("my.site", website={"index": "index.html"}).put("index.html", b"hi")
        a = serve_in_thread(c)
        b = serve_in_thread(tmp_path / "s", host_suffixes=["localhost", "Ripple.Test"])
        try:
            assert a.port != b.port and a.port > 0
            assert a.url_for("my.site") == f"http://my.site.localhost:{a.port}/"
            assert a.url == f"http://127.0.0.1:{a.port}/"
            for handle, host in ((a, "my.site.localhost"), (b, "my.site.ripple.test"), (b, "my.site.localhost")):
                assert raw_get(handle.port, b"/", host=host.encode())[::2] == (200, b"hi")
            assert raw_get(a.port, b"/", host=b"my.site.ripple.test")[0] == 404  # not a suffix of a
            assert raw_get(b.port, b"/", host=b"my.site.other.test")[0] == 404
        finally:
            a.close()
            b.close()
        assert not a.running and not b.running
        a.close()  # idempotent
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", a.port), timeout=5).close()
        assert c.bucket("my.site").read("index.html") == b"hi"  # the caller's client still works


def test_serve_in_thread_reports_what_stops_it(tmp_path):
    with pytest.raises(ValueError, match="host suffix"):
        serve_in_thread(tmp_path / "s", host_suffixes=["localhost:8080"])
    with serve_in_thread(tmp_path / "s") as running, pytest.raises(OSError, match="cannot listen"):
        serve_in_thread(tmp_path / "s", port=running.port)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "ripple.sqlite3").write_bytes(b"this is not a database" * 10)
    with pytest.raises(StateError):
        serve_in_thread(bad)


def test_import_ripple_does_not_import_the_http_stack():
    code = (
        "import sys, ripple, ripple.http, ripple.client\n"
        "bad = [m for m in ('starlette', 'uvicorn', 'anyio', 'ripple.http.server') if m in sys.modules]\n"
        "assert not bad, bad\n"
        "from ripple.http import create_app\n"
        "assert 'starlette' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONWARNINGS": "error"})
