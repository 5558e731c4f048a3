"""A static file server for tests (stdlib only, a thread on 127.0.0.1) standing in for the site that
hosts Unsup3d's archives: ``GET``/``HEAD /<name>`` with ``Content-Length`` and ``Range: bytes=N-``
(206 partial answers), 404 for unknown names, and fault injection: :meth:`ArchiveServer.cut` ends the
next transfer of a file after a number of bytes (the connection closes early, as a dropped link
does). Every request is logged with its ``Range`` header.
"""

from __future__ import annotations

import re
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_RANGE = re.compile(r"bytes=(\d+)-$")


class ArchiveServer:
    """Serves ``files`` (URL name -> local file); use as a context manager, or :meth:`stop` it.

    Attributes:
        url: base URL (``http://127.0.0.1:PORT``), what ``PHYSDIS_UNSUP3D_URL`` is set to.
        requests: ``(method, name, range header or None)`` of every request, in order.
    """

    def __init__(self) -> None:
        self.files: dict[str, Path] = {}
        self.requests: list[tuple[str, str, str | None]] = []
        self._cuts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> ArchiveServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Shut the server down and close its socket (later requests find nothing listening)."""
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def cut(self, name: str, after: int) -> None:
        """End the next transfer of ``name`` after ``after`` bytes (headers announce the full length)."""
        with self._lock:
            self._cuts[name] = after

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_HEAD(self) -> None:
                self._answer(body=False)

            def do_GET(self) -> None:
                self._answer(body=True)

            def _answer(self, body: bool) -> None:
                name, ranged = self.path.lstrip("/"), self.headers.get("Range")
                with server._lock:
                    server.requests.append((self.command, name, ranged))
                    path = server.files.get(name)
                    cut = server._cuts.pop(name, None) if body else None
                if path is None:
                    self.send_error(404, "Not Found")
                    return
                size = path.stat().st_size
                match = _RANGE.match(ranged or "")
                start = int(match.group(1)) if match else 0
                if start >= size and match:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{size}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206 if match else 200)
                if match:
                    self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
                self.send_header("Content-Length", str(size - start))
                self.send_header("Content-Type", "application/zip")
                self.end_headers()
                if not body:
                    return
                with open(path, "rb") as f:
                    f.seek(start)
                    if cut is None:
                        shutil.copyfileobj(f, self.wfile, 1 << 20)
                    else:
                        self.wfile.write(f.read(cut))
                        self.wfile.flush()
                        self.close_connection = True

        return Handler
