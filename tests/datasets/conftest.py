"""Fixtures of the deltaprop.datasets tests: a time limit, a local HTTP mirror, small MNIST files."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import threading

import pytest
from datasets_support import make_idx_dir, no_hang

from deltaprop.datasets import IDX_FILES


@pytest.fixture
def datasets_no_hang():
    """Fail (instead of hanging) if a test runs longer than 120 s."""
    with no_hang(120):
        yield


class _MirrorHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        self.server.requests.append(self.path)
        kind, body = self.server.routes.get(self.path, ("missing", b""))
        if kind == "missing":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if kind == "truncate" else body)

    def log_message(self, format, *args):
        pass


class LocalMirror:
    """A mirror on 127.0.0.1 serving files given to :meth:`serve`; ``requests`` lists the paths asked."""

    def __init__(self, server):
        self.server = server
        self.routes = server.routes
        self.requests = server.requests
        self.base = f"http://127.0.0.1:{server.server_address[1]}"

    def serve(self, prefix: str, files: dict[str, bytes], kind: str = "ok") -> str:
        """Serve ``files`` under ``/prefix/`` ("ok", or "truncate" to send half); the mirror URL."""
        for name, body in files.items():
            self.routes[f"/{prefix}/{name}"] = (kind, body)
        return f"{self.base}/{prefix}/"


@pytest.fixture
def datasets_mirror(monkeypatch, datasets_no_hang):
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _MirrorHandler)
    server.routes = {}
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield LocalMirror(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def datasets_mnist_files(tmp_path):
    """Small MNIST-like .gz files (bytes) and the md5 of their uncompressed content."""
    arrays = make_idx_dir(tmp_path / "source")
    files, checksums = {}, {}
    for stem in IDX_FILES:
        compressed = (tmp_path / "source" / f"{stem}.gz").read_bytes()
        files[f"{stem}.gz"] = compressed
        checksums[stem] = hashlib.md5(gzip.decompress(compressed)).hexdigest()
    return files, checksums, arrays
