"""`zoo hub serve DIR`: a hub folder over HTTP (GET/HEAD with single byte ranges), for mirrors and
tests. Nothing outside the folder, no dot-files and no partial downloads (.part/.lock) are served;
binds 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import http.server
import re
import threading
import time
import urllib.parse
from pathlib import Path

from zoo.errors import HubError
from zoo.hub import _AUX_SUFFIXES, CHUNK


class HubRequestHandler(http.server.BaseHTTPRequestHandler):
    """GET/HEAD of the files under the server's root, with single-range `Range` support."""

    server_version = "zoo-hub/1"

    def log_message(self, format, *args):  # noqa: A002 (base-class signature)
        if getattr(self.server, "verbose", False):
            super().log_message(format, *args)

    def do_HEAD(self):
        self._serve(body=False)

    def do_GET(self):
        self._serve(body=True)

    def resolve(self) -> Path | None:
        root = Path(self.server.root)
        rel = urllib.parse.unquote(urllib.parse.urlparse(self.path).path).lstrip("/")
        target = (root / rel).resolve()
        if root not in target.parents or not target.is_file() or any(
                p.startswith(".") or p.endswith(_AUX_SUFFIXES) for p in Path(rel).parts):
            return None
        return target

    def _serve(self, body: bool):
        target = self.resolve()
        if target is None:
            self.send_error(404, "not found")
            return
        size = target.stat().st_size
        start, end = 0, size - 1
        header = self.headers.get("Range")
        if header:
            match = re.fullmatch(r"bytes=(\d*)-(\d*)", header.strip())
            if not match or match.groups() == ("", ""):
                return self._unsatisfiable(size)
            first, last = match.groups()
            if first:
                start, end = int(first), min(int(last), size - 1) if last else size - 1
            else:
                start = max(0, size - int(last))
            if start >= size or start > end:
                return self._unsatisfiable(size)
        self.send_response(206 if header else 200)
        if header:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Type", "application/json" if target.suffix == ".json" else "application/octet-stream")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if body:
            self.send_body(target, start, end)

    def send_body(self, target: Path, start: int, end: int) -> None:
        """Write bytes start..end (inclusive) of `target`; test servers override this to inject faults."""
        with open(target, "rb") as f:
            f.seek(start)
            remaining = end - start + 1
            while remaining > 0:
                block = f.read(min(CHUNK, remaining))
                if not block:
                    break
                self.wfile.write(block)
                remaining -= len(block)

    def _unsatisfiable(self, size: int):
        self.send_response(416)
        self.send_header("Content-Range", f"bytes */{size}")
        self.send_header("Content-Length", "0")
        self.end_headers()


class HubServer(http.server.ThreadingHTTPServer):
    """A hub folder over HTTP (mirrors, tests). `with HubServer(dir) as s: pull(..., hub_url=s.url)`.
    Binds 127.0.0.1 unless told otherwise; port 0 picks a free port."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):  # clients hanging up are routine
            super().handle_error(request, client_address)

    def __init__(self, root, port: int = 0, host: str = "127.0.0.1", handler=HubRequestHandler,
                 verbose: bool = False):
        root = Path(root).resolve()
        if not root.is_dir():
            raise HubError("hub folder not found", received=str(root), fix="pass a folder holding index.json")
        self.root, self.verbose, self._thread = root, verbose, None
        super().__init__((host, port), handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "HubServer":
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def serve_hub(root, port: int = 8000, host: str = "127.0.0.1") -> None:
    """Serve a hub folder until interrupted (`zoo hub serve DIR --port P`)."""
    with HubServer(root, port=port, host=host, verbose=True) as server:
        print(f"serving {server.root} at {server.url} (set ZOO_HUB_URL={server.url})", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


__all__ = ["HubRequestHandler", "HubServer", "serve_hub"]
