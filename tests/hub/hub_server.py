"""A Hugging Face Hub-protocol HTTP server for tests: Python stdlib only, in a thread on 127.0.0.1.

It speaks the part of the Hub protocol that huggingface_hub 2.x uses for ``create_repo``,
``create_branch``, ``upload_folder`` / ``create_commit`` (regular, inline uploads),
``hf_hub_download`` and ``model_info``:

==========================================  ===================================================
``POST /api/repos/create``                  ``{"name", "organization", "type", "private"}``
``POST /api/models/{repo}/branch/{name}``   ``{"startingPoint"?}``; 409 if it exists
``POST /api/models/{repo}/preupload/{rev}`` answers ``uploadMode: "regular"`` (content comes inline)
``POST /api/models/{repo}/commit/{rev}``    NDJSON: header, file (base64), deletedFile, deletedFolder
``GET  /api/models/{repo}[/revision/{rev}]`` ``{"id", "sha", "siblings": [{"rfilename", "size", "blobId"}]}``
``POST /api/validate-yaml``                 ``{"content", "repoType"}`` -> ``{"errors", "warnings"}``
``HEAD|GET /{repo}/resolve/{rev}/{path}``   file bytes; ``ETag`` (quoted git blob sha1),
                                            ``X-Repo-Commit``, ``Content-Length``, ``Range``
==========================================  ===================================================

Every commit gets a new sha and keeps its own file tree, so old revisions stay downloadable.
Errors are 4xx with a JSON body and the ``X-Error-Code`` header that huggingface_hub maps to its
typed errors (``RepoNotFound``, ``RevisionNotFound``, ``EntryNotFound``) plus ``X-Error-Message``.

For fault injection, :meth:`HubServer.tamper` changes a stored file in place (a compromised
mirror) and :meth:`HubServer.drop_downloads` breaks the next downloads of a file mid-transfer.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import yaml  # a huggingface_hub dependency; parses model card metadata like the Hub does

_REPO = r"(?P<repo>[\w.-]+/[\w.-]+)"
_SEGMENT = r"[^/]+"
_COMMIT = re.compile(r"[0-9a-f]{40}")


def git_blob_sha1(data: bytes) -> str:
    """The git object id of a blob (what ``git hash-object`` prints)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class HubError(Exception):
    """An error answer: HTTP status, optional ``X-Error-Code``, extra headers and extra JSON fields."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code
        self.headers, self.extra = headers or {}, extra or {}


@dataclass
class _Repo:
    private: bool
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)  # sha -> path -> bytes
    refs: dict[str, str] = field(default_factory=dict)  # branch -> sha


class _State:
    """All repositories, guarded by one lock, plus the request log and injected faults."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.repos: dict[str, _Repo] = {}
        self.requests: list[tuple[str, str]] = []
        self.authorizations: list[str | None] = []
        self.dropped_downloads: dict[str, int] = {}
        self._counter = itertools.count()

    def repo(self, repo_id: str) -> _Repo:
        try:
            return self.repos[repo_id]
        except KeyError:
            raise HubError(404, "Repository not found", "RepoNotFound") from None

    def resolve(self, repo_id: str, revision: str) -> tuple[_Repo, str]:
        repo = self.repo(repo_id)
        if revision in repo.refs:
            return repo, repo.refs[revision]
        if _COMMIT.fullmatch(revision) and revision in repo.commits:
            return repo, revision
        raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")

    def new_commit(self, repo: _Repo, parent: str | None, tree: dict[str, bytes], message: str) -> str:
        listing = "".join(f"{git_blob_sha1(data)} {path}\n" for path, data in sorted(tree.items()))
        payload = f"parent {parent}\ncounter {next(self._counter)}\n{listing}\n{message}"
        sha = hashlib.sha1(payload.encode()).hexdigest()
        repo.commits[sha] = tree
        return sha


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the Hub; every answer has a Content-Length
    timeout = 30
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    # -- plumbing --------------------------------------------------------------------------------
    @property
    def state(self) -> _State:
        return self.server.state

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        with self.state.lock:
            self.state.requests.append((method, self.path))
            self.state.authorizations.append(self.headers.get("Authorization"))
        body = self._read_body()
        for route_method, pattern, handler in _ROUTES:
            match = pattern.fullmatch(url.path)
            if match and (route_method == method or (route_method == "GET" and method == "HEAD")):
                try:
                    with self.state.lock:
                        handler(self, match, body, parse_qs(url.query))
                except HubError as err:
                    if self.server.not_found_as_repo and err.code in ("RevisionNotFound", "EntryNotFound"):
                        err = HubError(401, "Repository not found", "RepoNotFound")
                    self._send_json(err.status, {"error": err.message, **err.extra}, _error_headers(err))
                return
        self._send_json(404, {"error": f"no route for {method} {url.path}"})

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
                pass
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, status: int, body: bytes, headers: dict[str, str], *, drop: bool = False) -> None:
        """Answer; ``drop`` announces the body but closes the connection before sending it."""
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if drop:
            self.close_connection = True
        elif self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(obj).encode(), {"Content-Type": "application/json", **(headers or {})})

    def _json_body(self, body: bytes) -> dict[str, Any]:
        try:
            data = json.loads(body or b"{}")
        except json.JSONDecodeError as err:
            raise HubError(400, f"invalid JSON body: {err}") from err
        if not isinstance(data, dict):
            raise HubError(400, "expected a JSON object")
        return data

    # -- endpoints -------------------------------------------------------------------------------
    def create_repo(self, match: re.Match, body: bytes, query: dict) -> None:
        data = self._json_body(body)
        if data.get("type", "model") != "model":
            raise HubError(400, "this test server hosts model repositories only")
        if not data.get("organization") or not data.get("name"):
            raise HubError(400, "expected 'organization' and 'name'")
        repo_id = f"{data['organization']}/{data['name']}"
        if not re.fullmatch(_REPO, repo_id):
            raise HubError(400, f"invalid repo id {repo_id!r}")
        url = f"{self.base_url}/{repo_id}"
        if repo_id in self.state.repos:
            raise HubError(409, "You already created this model repo", extra={"url": url})
        private = bool(data.get("private")) or data.get("visibility") == "private"
        repo = self.state.repos[repo_id] = _Repo(private=private)
        attributes = b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n"
        repo.refs["main"] = self.state.new_commit(repo, None, {".gitattributes": attributes}, "initial commit")
        self._send_json(200, {"url": url, "name": repo_id, "id": repo_id})

    def create_branch(self, match: re.Match, body: bytes, query: dict) -> None:
        repo = self.state.repo(match["repo"])
        branch = unquote(match["branch"])
        if branch in repo.refs:
            raise HubError(409, "Reference already exists")
        _, sha = self.state.resolve(match["repo"], self._json_body(body).get("startingPoint") or "main")
        repo.refs[branch] = sha
        self._send_json(200, {})

    def preupload(self, match: re.Match, body: bytes, query: dict) -> None:
        repo, sha = self.state.resolve(match["repo"], unquote(match["rev"]))
        files = self._json_body(body).get("files")
        if not isinstance(files, list):
            raise HubError(400, "expected 'files'")
        tree = repo.commits[sha]
        answer = [
            {
                "path": f["path"],
                "uploadMode": "regular",
                "shouldIgnore": False,
                "oid": git_blob_sha1(tree[f["path"]]) if f["path"] in tree else None,
            }
            for f in files
        ]
        self._send_json(200, {"files": answer, "commitOid": sha})

    def commit(self, match: re.Match, body: bytes, query: dict) -> None:
        repo_id, branch = match["repo"], unquote(match["rev"])
        repo = self.state.repo(repo_id)
        if "create_pr" in query:
            raise HubError(400, "this test server does not do pull requests")
        if branch not in repo.refs:
            raise HubError(404, f"Invalid rev id: {branch} (commits go to a branch)", "RevisionNotFound")
        try:
            lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        except json.JSONDecodeError as err:
            raise HubError(400, f"invalid NDJSON: {err}") from err
        if not lines or lines[0].get("key") != "header":
            raise HubError(400, "the first NDJSON line must be the commit header")
        header = lines[0]["value"]
        parent = repo.refs[branch]
        if header.get("parentCommit") not in (None, parent):
            raise HubError(412, "A commit has happened since. Please refresh and try again.")
        tree = dict(repo.commits[parent])
        for line in lines[1:]:
            _apply_operation(tree, line)
        sha = self.state.new_commit(repo, parent, tree, header.get("summary", ""))
        repo.refs[branch] = sha
        self._send_json(
            200,
            {
                "success": True,
                "commitOid": sha,
                "commitUrl": f"{self.base_url}/{repo_id}/commit/{sha}",
                "hookOutput": "",
                "pullRequestUrl": None,
            },
        )

    def model_info(self, match: re.Match, body: bytes, query: dict) -> None:
        revision = unquote(match["rev"]) if match["rev"] else "main"
        repo, sha = self.state.resolve(match["repo"], revision)
        siblings = [
            {"rfilename": path, "size": len(data), "blobId": git_blob_sha1(data)}
            for path, data in sorted(repo.commits[sha].items())
        ]
        info = {"_id": sha[:24], "id": match["repo"], "modelId": match["repo"], "sha": sha}
        self._send_json(200, {**info, "private": repo.private, "siblings": siblings, "library_name": "physdis-hub"})

    def validate_yaml(self, match: re.Match, body: bytes, query: dict) -> None:
        errors, warnings = _validate_card(str(self._json_body(body).get("content", "")))
        self._send_json(400 if errors else 200, {"errors": errors, "warnings": warnings})

    def resolve_file(self, match: re.Match, body: bytes, query: dict) -> None:
        repo, sha = self.state.resolve(match["repo"], unquote(match["rev"]))
        path = unquote(match["path"])
        data = repo.commits[sha].get(path)
        if data is None:
            raise HubError(404, f"Entry not found: {path}", "EntryNotFound", {"X-Repo-Commit": sha})
        headers = {
            "ETag": f'"{git_blob_sha1(data)}"',
            "X-Repo-Commit": sha,
            "Content-Type": "application/octet-stream",
            "Accept-Ranges": "bytes",
            "Content-Disposition": f'inline; filename="{path.rsplit("/", 1)[-1]}"',
        }
        status, body_out = 200, data
        byte_range = _parse_range(self.headers.get("Range"), len(data)) if self.command == "GET" else None
        if byte_range is not None:
            start, end = byte_range
            status, body_out = 206, data[start : end + 1]
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
        drop = self.command == "GET" and self.state.dropped_downloads.get(path, 0) > 0
        if drop:
            self.state.dropped_downloads[path] -= 1
        self._send(status, body_out, headers, drop=drop)


def _error_headers(err: HubError) -> dict[str, str]:
    headers = {"X-Error-Message": err.message.encode("ascii", "replace").decode(), **err.headers}
    if err.code:
        headers["X-Error-Code"] = err.code
    return headers


def _apply_operation(tree: dict[str, bytes], line: dict[str, Any]) -> None:
    key, value = line.get("key"), line.get("value") or {}
    path = str(value.get("path", ""))
    if not path or path.startswith("/") or ".." in path.split("/"):
        raise HubError(400, f"invalid path in repo: {path!r}")
    if key == "file":
        if value.get("encoding") != "base64":
            raise HubError(400, "file content must be base64-encoded")
        try:
            tree[path] = base64.b64decode(value["content"], validate=True)
        except (KeyError, ValueError) as err:
            raise HubError(400, f"invalid base64 content for {path}") from err
    elif key == "deletedFile":
        if tree.pop(path, None) is None:
            raise HubError(404, f"A file with this name doesn't exist: {path}", "EntryNotFound")
    elif key == "deletedFolder":
        for name in [n for n in tree if n.startswith(path.rstrip("/") + "/")]:
            del tree[name]
    elif key == "lfsFile":
        raise HubError(400, "this server asked for regular uploads; LFS objects were never uploaded")
    else:
        raise HubError(400, f"unknown commit operation {key!r}")


def _parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    match = re.fullmatch(r"bytes=(\d+)-(\d*)", header or "")
    if match is None:
        return None
    start, end = int(match[1]), int(match[2]) if match[2] else size - 1
    if start >= size or end < start:
        raise HubError(416, f"unsatisfiable range {header}", headers={"Content-Range": f"bytes */{size}"})
    return start, min(end, size - 1)


def _validate_card(content: str) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Check the YAML metadata block of a model card the way the Hub's validator does (subset)."""
    match = re.match(r"---\r?\n(.*?)\r?\n---\r?\n", content, re.DOTALL)
    if match is None:
        return [], [{"message": "empty or missing yaml metadata in repo card"}]
    try:
        meta = yaml.safe_load(match[1])
    except yaml.YAMLError as err:
        return [{"message": f"invalid YAML: {err}"}], []
    if not isinstance(meta, dict):
        return [{"message": "the metadata block must be a mapping"}], []
    errors = []
    if "license" in meta and not (
        isinstance(meta["license"], str) and re.fullmatch(r"[a-z0-9][a-z0-9.-]*", meta["license"])
    ):
        errors.append({"message": f'"license" must be a license identifier, got {meta["license"]!r}'})
    for key in ("tags", "datasets"):
        if key in meta and not (isinstance(meta[key], list) and all(isinstance(v, str) for v in meta[key])):
            errors.append({"message": f'"{key}" must be a list of strings'})
    if "library_name" in meta and not isinstance(meta["library_name"], str):
        errors.append({"message": '"library_name" must be a string'})
    return errors, []


_Endpoint = Callable[[_Handler, re.Match, bytes, dict], None]
_ROUTES: list[tuple[str, re.Pattern[str], _Endpoint]] = [
    ("POST", re.compile(r"/api/repos/create"), _Handler.create_repo),
    ("POST", re.compile(rf"/api/models/{_REPO}/branch/(?P<branch>{_SEGMENT})"), _Handler.create_branch),
    ("POST", re.compile(rf"/api/models/{_REPO}/preupload/(?P<rev>{_SEGMENT})"), _Handler.preupload),
    ("POST", re.compile(rf"/api/models/{_REPO}/commit/(?P<rev>{_SEGMENT})"), _Handler.commit),
    ("GET", re.compile(rf"/api/models/{_REPO}(?:/revision/(?P<rev>{_SEGMENT}))?"), _Handler.model_info),
    ("POST", re.compile(r"/api/validate-yaml"), _Handler.validate_yaml),
    ("GET", re.compile(rf"/{_REPO}/resolve/(?P<rev>{_SEGMENT})/(?P<path>.+)"), _Handler.resolve_file),
]


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # keep-alive connections must not block shutdown
    state: _State
    not_found_as_repo: bool


class HubServer:
    """The server, started on an ephemeral port of 127.0.0.1 in a daemon thread.

    Args:
        not_found_as_repo: answer a missing revision or file as a missing repository (401
            ``RepoNotFound``), as some mirrors do (olah's offline mode), instead of the Hub's typed 404s.

    Example:
        >>> with HubServer() as hub:  # doctest: +SKIP
        ...     monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", hub.url)
    """

    def __init__(self, *, not_found_as_repo: bool = False) -> None:
        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.state = self._state = _State()
        self._httpd.not_found_as_repo = not_found_as_repo
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="hub-server", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> HubServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- inspection and fault injection -------------------------------------------------------------
    @property
    def requests(self) -> list[tuple[str, str]]:
        """``(method, path)`` of every request so far."""
        with self._state.lock:
            return list(self._state.requests)

    @property
    def authorizations(self) -> list[str | None]:
        """The ``Authorization`` header of every request so far (None where it had none)."""
        with self._state.lock:
            return list(self._state.authorizations)

    def files(self, repo_id: str, revision: str = "main") -> dict[str, bytes]:
        """The file tree of ``repo_id`` at ``revision``."""
        with self._state.lock:
            repo, sha = self._state.resolve(repo_id, revision)
            return dict(repo.commits[sha])

    def head(self, repo_id: str, branch: str = "main") -> str:
        """The commit sha ``branch`` points to."""
        with self._state.lock:
            return self._state.repo(repo_id).refs[branch]

    def add_file(self, repo_id: str, path: str, data: bytes, branch: str = "main") -> str:
        """Commit one file directly (e.g. a pickle file no client of ours would upload); returns the sha."""
        with self._state.lock:
            repo = self._state.repo(repo_id)
            parent = repo.refs[branch]
            repo.refs[branch] = self._state.new_commit(
                repo, parent, {**repo.commits[parent], path: data}, f"add {path}"
            )
            return repo.refs[branch]

    def tamper(self, repo_id: str, revision: str, path: str, data: bytes) -> None:
        """Replace a stored file's bytes in place, keeping the commit sha (a compromised mirror)."""
        with self._state.lock:
            repo, sha = self._state.resolve(repo_id, revision)
            repo.commits[sha][path] = data

    def drop_downloads(self, path: str, times: int) -> None:
        """Answer the next ``times`` GETs of ``path`` with headers only, then drop the connection."""
        with self._state.lock:
            self._state.dropped_downloads[path] = times
