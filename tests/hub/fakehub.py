#!/usr/bin/env python3
"""A small but real Hugging Face Hub server for tests (Python standard library only).

It serves repositories from a plain directory tree (the *store*) over HTTP/1.1 on
127.0.0.1, speaking the subset of the Hub protocol that ``huggingface_hub`` 2.x
(``snapshot_download``, ``hf_hub_download``, ``HfApi``) and our own ``mlxk pull`` use.

Store layout (``--store DIR``)::

    DIR/<repo_type>s/<org>/<name>/<branch>/<files...>   one directory per branch
    DIR/<repo_type>s/<org>/<name>/gated                 optional marker file: the repo is gated
    DIR/<repo_type>s/<org>/<name>/private               optional marker file: the repo is private
    DIR/<repo_type>s/<org>/<name>/.commits              optional JSON {branch: 40-hex}: a pinned
                                                        commit sha (examples that name a commit)

``<repo_type>s`` is ``models``, ``datasets``, ``spaces`` or ``kernels``. A branch
name that contains ``/`` (``refs/pr/1``) is stored url-quoted (``refs%2Fpr%2F1``).
Each branch directory is exactly one commit. Its 40-hex commit sha is::

    sha1(repo_id + "\\n" + "".join(f"{path}\\0{sha256(content)}\\n" for path in sorted(paths)))

so it is deterministic, changes whenever a file changes, and two branches with the
same content share one commit. Files are re-read only when their size or mtime
changes, so a test may edit the store while the server runs (e.g. to move ``main``).

A file is served as an LFS file when its name ends in ``.safetensors``, ``.bin`` or
``.gguf`` or when it is 1 MiB or larger. Its blob name (``X-Linked-Etag``) is then
the sha256 of the content and its git oid (``ETag``, tree ``oid``) is the git blob
sha1 of the LFS pointer. Any other file is a regular git file whose ``ETag`` and
tree ``oid`` are the git blob sha1 of the content (``sha1(b"blob <len>\\0" + data)``).

Endpoints (``{t}`` is ``models``, ``datasets``, ``spaces`` or ``kernels``; ``{p}`` is
the resolve prefix: empty for models, else ``datasets/``, ``spaces/``, ``kernels/``):

* ``GET /api/{t}/{org}/{name}[/revision/{rev}][?blobs=true]``: repo info
  (``id, sha, private, gated, disabled, lastModified, siblings``).
* ``GET /api/{t}/{org}/{name}/tree/{rev}[/{path}][?recursive=true][&cursor=N]``: tree
  items, paginated by ``--page-size`` with a ``Link: <url>; rel="next"`` header.
* ``POST /api/{t}/{org}/{name}/paths-info/{rev}`` (form ``paths=…``): tree items of
  the named paths.
* ``GET /api/{t}/{org}/{name}/refs[?include_prs=1]``: branches, tags, converts
  (and ``pullRequests`` for ``refs/pr/*`` branches when asked).
* ``HEAD|GET /{p}{org}/{name}/resolve/{rev}/{path}``: file metadata and bytes, with
  ``Range`` support. With ``--redirect``, LFS files answer ``302`` to
  ``http://<cdn-host>:<port>/cdn/<sha256>``, a different origin from
  ``127.0.0.1`` (as the real Hub's CDN is), so clients read the metadata from the
  302 itself and fetch the bytes without the ``Authorization`` header.
* ``HEAD|GET /cdn/<sha256>``: the CDN: bytes by content hash, with ``Range`` support.
* ``GET /api/whoami-v2`` and ``GET /api/agent-harnesses``: the small calls the
  Python client makes on its own.

``rev`` is a branch name or the 40-hex commit of a branch, url-quoted when it has
a ``/``. Errors carry ``X-Error-Code`` as the Hub does: ``RepoNotFound``,
``RevisionNotFound``, ``EntryNotFound`` (with ``X-Repo-Commit``) and ``GatedRepo``.

Access: a repo with a ``gated`` marker serves its metadata (info, tree, refs) to
everyone but its files only to ``Authorization: Bearer <--token>``: no header gives
401, a wrong token 403, both with ``X-Error-Code: GatedRepo``. Without ``--token``
nobody is granted. The marker's content, ``auto`` or ``manual`` (default), is the
``gated`` value of the repo info. A repo with a ``private`` marker answers exactly as
a missing repo does (404 ``RepoNotFound``, on every endpoint) unless the request
carries the token.

Fault injection (each ``GLOB`` option may be repeated; a glob is matched with
``fnmatch`` against the file's path in the repo and against ``<repo_id>/<path>``;
faults apply to file bytes served by ``resolve`` GETs and ``/cdn`` GETs, never to
HEADs or API calls):

* ``--truncate GLOB``: a response that starts at byte 0 announces its full
  ``Content-Length`` but sends only the first half of the body, then the
  connection is closed. A response to a ``Range`` request that starts later is sent
  whole, so a client that resumes with ``Range`` completes and one that restarts
  from byte 0 fails every time.
* ``--corrupt GLOB``: same length, the byte at offset ``size // 2`` is XOR-ed with
  0xFF. Metadata (ETag, sha256) still describes the true content.
* ``--slow GLOB``: the body is sent in 64 KiB chunks with 50 ms between chunks.
* ``--ignore-range GLOB``: the server has no range support for these files: a GET
  ignores any ``Range`` header and answers 200 with the whole body (no
  ``Content-Range``, no ``Accept-Ranges``, never 416). HEADs are unchanged. A client
  that resumes must notice the 200 and start the file over, not append to it.
* ``--fail-first N`` (with ``--fail-glob GLOB``, default ``*``): the first N GETs of
  each matching file (counted per stored file, across resolve and /cdn) answer
  ``--fail-status CODE`` (400-599, default 500) with ``X-Error-Message`` and a JSON error
  body; a 429 or 503 also carries ``Retry-After: 0``.

Request log: with ``--log FILE`` one JSON line per request is appended::

    {"method": "GET", "path": "/org/tiny/resolve/main/config.json",
     "range": null, "status": 200, "bytes": 123, "auth": false}

``path`` is the raw request target (with its query), ``range`` the raw ``Range``
header or null (also when ``--ignore-range`` ignored it), ``status`` the status sent
(e.g. the ``--fail-status`` of an injected failure), ``bytes`` the number of body
bytes actually sent, ``auth`` whether the request carried an ``Authorization``
header (so tests can prove a token never reached the CDN).

Usage::

    python3 fakehub.py --store DIR [--port 0] [--redirect] [--token T] [--log FILE]
                       [--page-size 1000] [--truncate GLOB] [--corrupt GLOB]
                       [--slow GLOB] [--ignore-range GLOB]
                       [--fail-first N [--fail-glob GLOB] [--fail-status CODE]]

Once listening it prints exactly one line, ``READY http://127.0.0.1:<port>``, to
stdout. SIGTERM or SIGINT stop it cleanly with exit code 0.
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import hashlib
import json
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

REPO_TYPES = ("models", "datasets", "spaces", "kernels")
RESOLVE_PREFIXES = ("datasets", "spaces", "kernels")
LFS_SUFFIXES = (".safetensors", ".bin", ".gguf")
LFS_MIN_SIZE = 1 << 20
CHUNK_SIZE = 64 * 1024
SLOW_DELAY_S = 0.05
COMMIT_RE = re.compile(r"[0-9a-f]{40}")
SHA256_RE = re.compile(r"[0-9a-f]{64}")
RANGE_RE = re.compile(r"bytes=(\d*)-(\d*)")


def git_blob_sha1(data: bytes) -> str:
    """Git's object id for a blob: ``sha1(b"blob <len>\\0" + data)``."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(sha256: str, size: int) -> bytes:
    """The git-lfs pointer file that stands in git for an LFS file."""
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def iso_utc(ts: float) -> str:
    """Hub timestamp format, ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    dt = datetime.fromtimestamp(ts, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def is_truthy(value: str | None) -> bool:
    """Query-string boolean as the Python client sends it (``True``/``true``/``1``)."""
    return value is not None and value.lower() in ("1", "true", "yes")


# --------------------------------------------------------------------------- store


@dataclass(frozen=True)
class StoredFile:
    """One file of one commit, with the hashes the protocol exposes."""

    repo_id: str
    path: str
    disk_path: Path
    size: int
    sha256: str
    blob_sha1: str

    @property
    def is_lfs(self) -> bool:
        """Whether the Hub would store this file with git-lfs."""
        return self.path.endswith(LFS_SUFFIXES) or self.size >= LFS_MIN_SIZE

    @property
    def pointer(self) -> bytes:
        """The LFS pointer text (meaningful for LFS files only)."""
        return lfs_pointer(self.sha256, self.size)

    @property
    def oid(self) -> str:
        """Git oid of the file as committed: the pointer's for LFS files."""
        return git_blob_sha1(self.pointer) if self.is_lfs else self.blob_sha1

    @property
    def etag(self) -> str:
        """Normalized blob name a client stores the file under."""
        return self.sha256 if self.is_lfs else self.blob_sha1

    def tree_item(self) -> dict:
        """The ``/tree`` and ``/paths-info`` item of this file."""
        item: dict = {"type": "file", "oid": self.oid, "size": self.size, "path": self.path}
        if self.is_lfs:
            item["lfs"] = {"oid": self.sha256, "size": self.size, "pointerSize": len(self.pointer)}
        return item

    def sibling(self, with_blobs: bool) -> dict:
        """The ``siblings`` entry of the repo info."""
        item: dict = {"rfilename": self.path}
        if with_blobs:
            item["size"] = self.size
            item["blobId"] = self.oid
            if self.is_lfs:
                item["lfs"] = {"sha256": self.sha256, "size": self.size, "pointerSize": len(self.pointer)}
        return item

    def matches(self, globs: Iterable[str]) -> bool:
        """Whether a fault glob selects this file (by repo path or ``repo_id/path``)."""
        qualified = f"{self.repo_id}/{self.path}"
        return any(fnmatch.fnmatchcase(self.path, g) or fnmatch.fnmatchcase(qualified, g) for g in globs)


@dataclass(frozen=True)
class Repo:
    """A repository folder of the store."""

    type_plural: str
    repo_id: str
    directory: Path

    @property
    def gated(self) -> str | bool:
        """``False``, or the gating mode (``auto``/``manual``) read from the marker."""
        marker = self.directory / "gated"
        if not marker.is_file():
            return False
        mode = marker.read_text(encoding="utf-8", errors="replace").strip()
        return mode if mode in ("auto", "manual") else "manual"

    @property
    def private(self) -> bool:
        """Whether the ``private`` marker is present."""
        return (self.directory / "private").is_file()

    def branches(self) -> dict[str, Path]:
        """Branch name to branch directory, sorted by name."""
        found = {}
        for entry in sorted(self.directory.iterdir()):
            if entry.is_dir() and not entry.name.startswith("."):
                found[unquote(entry.name)] = entry
        return found


@dataclass(frozen=True)
class Snapshot:
    """One commit: a branch directory with its files."""

    repo: Repo
    branch: str
    commit: str
    files: dict[str, StoredFile]
    last_modified: float
    directories: tuple[str, ...] = field(default=())

    def tree_items(self, base: str, recursive: bool) -> list[dict] | None:
        """Items under ``base`` (``""`` = root), or ``None`` if ``base`` is no directory."""
        if base and base not in self.directories:
            return None
        prefix = f"{base}/" if base else ""

        def wanted(path: str) -> bool:
            if not path.startswith(prefix):
                return False
            return recursive or "/" not in path[len(prefix) :]

        items = [self.dir_item(d) for d in self.directories if wanted(d)]
        items += [f.tree_item() for p, f in self.files.items() if wanted(p)]
        items.sort(key=lambda item: item["path"])
        return items

    def dir_item(self, path: str) -> dict:
        """A ``directory`` tree item; its oid is a stable hash of what it contains."""
        digest = hashlib.sha1(f"tree {self.commit} {path}".encode()).hexdigest()
        return {"type": "directory", "oid": digest, "size": 0, "path": path}

    def path_item(self, path: str) -> dict | None:
        """Tree item of one path (file or directory), if it exists."""
        if path in self.files:
            return self.files[path].tree_item()
        if path in self.directories:
            return self.dir_item(path)
        return None


class Store:
    """Read-only view of the store directory, with a digest cache."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._digests: dict[tuple[str, int, int], tuple[str, str]] = {}
        self._by_sha256: dict[str, StoredFile] = {}
        # Snapshots already read, by (repo id, commit): a commit-addressed request (what
        # clients send once they know the commit) is served without walking the branch
        # again, so the server's cost per file stays far below any client's. Each hit is
        # re-checked against the one file it serves (see ``fresh``).
        self._by_commit: dict[tuple[str, str], Snapshot] = {}
        self._lock = threading.Lock()

    def repo(self, type_plural: str, org: str, name: str) -> Repo | None:
        """The repo folder, if the store has it."""
        if type_plural not in REPO_TYPES or not _safe_component(org) or not _safe_component(name):
            return None
        directory = self.root / type_plural / org / name
        if not directory.is_dir():
            return None
        return Repo(type_plural, f"{org}/{name}", directory)

    def repos(self) -> list[Repo]:
        """Every repo of the store."""
        found = []
        for type_plural in REPO_TYPES:
            base = self.root / type_plural
            if not base.is_dir():
                continue
            for org in sorted(p for p in base.iterdir() if p.is_dir()):
                for name in sorted(p for p in org.iterdir() if p.is_dir()):
                    found.append(Repo(type_plural, f"{org.name}/{name.name}", name))
        return found

    def _digest(self, path: Path) -> tuple[int, str, str]:
        """(size, sha256, git blob sha1) of a file, cached by size and mtime."""
        st = path.stat()
        key = (str(path), st.st_size, st.st_mtime_ns)
        with self._lock:
            cached = self._digests.get(key)
        if cached is None:
            sha256 = hashlib.sha256()
            sha1 = hashlib.sha1(b"blob %d\0" % st.st_size)
            with open(path, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    sha256.update(chunk)
                    sha1.update(chunk)
            cached = (sha256.hexdigest(), sha1.hexdigest())
            with self._lock:
                self._digests[key] = cached
        return st.st_size, cached[0], cached[1]

    def snapshot(self, repo: Repo, branch: str, directory: Path) -> Snapshot:
        """Read one branch directory as a commit."""
        files: dict[str, StoredFile] = {}
        directories: set[str] = set()
        newest = directory.stat().st_mtime
        for current, dirnames, filenames in os.walk(directory, followlinks=True):
            dirnames.sort()
            rel_dir = Path(current).relative_to(directory).as_posix()
            if rel_dir != ".":
                directories.add(rel_dir)
            for filename in sorted(filenames):
                disk_path = Path(current) / filename
                rel = filename if rel_dir == "." else f"{rel_dir}/{filename}"
                size, sha256, blob_sha1 = self._digest(disk_path)
                newest = max(newest, disk_path.stat().st_mtime)
                files[rel] = StoredFile(repo.repo_id, rel, disk_path, size, sha256, blob_sha1)
        files = dict(sorted(files.items()))
        manifest = "".join(f"{p}\0{f.sha256}\n" for p, f in files.items())
        commit = hashlib.sha1(f"{repo.repo_id}\n{manifest}".encode()).hexdigest()
        pins = repo.directory / ".commits"
        if pins.is_file():
            commit = json.loads(pins.read_text(encoding="utf-8")).get(branch, commit)
        snap = Snapshot(repo, branch, commit, files, newest, tuple(sorted(directories)))
        with self._lock:
            for stored in files.values():
                self._by_sha256[stored.sha256] = stored
            self._by_commit[(repo.repo_id, commit)] = snap
        return snap

    def cached_commit(self, repo: Repo, commit: str, path: str) -> Snapshot | None:
        """The snapshot read earlier for ``commit``, if ``path`` in it is unchanged on disk
        (same size, not newer than the snapshot); any doubt means None (walk again)."""
        with self._lock:
            snap = self._by_commit.get((repo.repo_id, commit))
        stored = snap.files.get(path) if snap is not None else None
        if stored is None:
            return None
        try:
            st = stored.disk_path.stat()
        except OSError:
            return None
        if st.st_size != stored.size or st.st_mtime > snap.last_modified:
            return None
        return snap

    def snapshots(self, repo: Repo) -> list[Snapshot]:
        """One snapshot per branch."""
        return [self.snapshot(repo, name, path) for name, path in repo.branches().items()]

    def resolve(self, repo: Repo, revision: str) -> Snapshot | None:
        """A branch name, or the 40-hex commit of one of the branches."""
        branches = repo.branches()
        if revision in branches:
            return self.snapshot(repo, revision, branches[revision])
        if COMMIT_RE.fullmatch(revision):
            for snap in self.snapshots(repo):
                if snap.commit == revision:
                    return snap
        return None

    def by_sha256(self, sha256: str) -> StoredFile | None:
        """A stored file with that content hash (for the CDN), scanning the store if needed."""
        with self._lock:
            found = self._by_sha256.get(sha256)
        if found is None:
            for repo in self.repos():
                self.snapshots(repo)
            with self._lock:
                found = self._by_sha256.get(sha256)
        if found is not None and not found.disk_path.is_file():
            return None
        return found


def _safe_component(part: str) -> bool:
    return bool(part) and part not in (".", "..") and "/" not in part and "\\" not in part and "\0" not in part


# --------------------------------------------------------------------------- server


@dataclass
class Options:
    """Server behaviour chosen on the command line."""

    redirect: bool = False
    cdn_host: str = "localhost"
    token: str | None = None
    page_size: int = 1000
    truncate: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)
    slow: list[str] = field(default_factory=list)
    ignore_range: list[str] = field(default_factory=list)
    fail_first: int = 0
    fail_glob: list[str] = field(default_factory=list)
    fail_status: int = 500
    log_path: Path | None = None
    verbose: bool = False


class HubServer(ThreadingHTTPServer):
    """Threading HTTP server holding the store, options, fault counters and the log."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], store: Store, options: Options) -> None:
        super().__init__(address, HubHandler)
        self.store = store
        self.options = options
        self._get_counts: dict[str, int] = {}
        self._state_lock = threading.Lock()

    @property
    def port(self) -> int:
        """The bound port."""
        return self.server_address[1]

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001 (base signature)
        """A client that hangs up on a kept-alive connection is normal, not a traceback."""
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)

    def count_get(self, stored: StoredFile) -> int:
        """Number of earlier GETs of this stored file, then count this one."""
        key = str(stored.disk_path)
        with self._state_lock:
            seen = self._get_counts.get(key, 0)
            self._get_counts[key] = seen + 1
        return seen

    def write_log(self, record: dict) -> None:
        """Append one JSON line to the request log."""
        if self.options.log_path is None:
            return
        line = json.dumps(record, separators=(",", ":")) + "\n"
        with self._state_lock, open(self.options.log_path, "a", encoding="utf-8") as fh:
            fh.write(line)


class HubHandler(BaseHTTPRequestHandler):
    """Routes one request to the Hub endpoint it names."""

    protocol_version = "HTTP/1.1"
    server_version = "fakehub/1.0"
    # Headers and body go out in separate writes; with Nagle on, a keep-alive client's
    # delayed ACK stalls every small response by ~40 ms.
    disable_nagle_algorithm = True
    server: HubServer

    # -- plumbing ---------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        """GET."""
        self._handle("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        """HEAD."""
        self._handle("HEAD")

    def do_POST(self) -> None:  # noqa: N802
        """POST."""
        self._handle("POST")

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (signature of the base class)
        """Access log to stderr only with ``--verbose``."""
        if self.server.options.verbose:
            sys.stderr.write(f"fakehub: {self.address_string()} {format % args}\n")

    def _handle(self, method: str) -> None:
        self._status = 0
        self._sent = 0
        self._method = method
        length = int(self.headers.get("Content-Length") or 0)
        self._body = self.rfile.read(length) if length > 0 else b""
        try:
            self._route(method)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:  # a store edited mid-request, a bad path: answer, don't die
            if self._status == 0:
                self._error(500, None, f"{type(exc).__name__}: {exc}")
            else:
                self.close_connection = True
        finally:
            self.server.write_log(
                {
                    "method": method,
                    "path": self.path,
                    "range": self.headers.get("Range"),
                    "auth": self.headers.get("Authorization") is not None,
                    "status": self._status,
                    "bytes": self._sent,
                }
            )

    def _start(self, status: int, headers: dict[str, str | int]) -> None:
        self._status = status
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, str(value))
        self.end_headers()

    def _reply(
        self,
        status: int,
        body: bytes = b"",
        headers: dict[str, str | int] | None = None,
        content_type: str = "application/json",
    ) -> None:
        all_headers: dict[str, str | int] = {"Content-Type": content_type, "Content-Length": len(body)}
        all_headers.update(headers or {})
        self._start(status, all_headers)
        if self._method != "HEAD" and body:
            self.wfile.write(body)
            self._sent += len(body)

    def _json(self, payload: object, headers: dict[str, str | int] | None = None) -> None:
        self._reply(200, json.dumps(payload).encode(), headers)

    def _error(
        self,
        status: int,
        code: str | None,
        message: str,
        commit: str | None = None,
        extra: dict[str, str | int] | None = None,
    ) -> None:
        headers: dict[str, str | int] = {"X-Error-Message": message}
        if code:
            headers["X-Error-Code"] = code
        if commit:
            headers["X-Repo-Commit"] = commit
        headers.update(extra or {})
        self._reply(status, json.dumps({"error": message}).encode(), headers)

    def _base_url(self, host: str | None = None) -> str:
        return f"http://{host or '127.0.0.1'}:{self.server.port}"

    # -- access -----------------------------------------------------------------

    def _token_state(self) -> str:
        """``none`` (no bearer token sent), ``granted`` or ``denied``."""
        auth = self.headers.get("Authorization", "")
        if not auth.lower().startswith("bearer ") or not auth[7:].strip():
            return "none"
        expected = self.server.options.token
        return "granted" if expected is not None and auth[7:].strip() == expected else "denied"

    def _visible(self, repo: Repo | None) -> Repo | None:
        """The repo, or ``None`` after sending RepoNotFound (missing, or private and not granted)."""
        if repo is not None and (not repo.private or self._token_state() == "granted"):
            return repo
        self._error(404, "RepoNotFound", "Repository not found")
        return None

    def _files_allowed(self, repo: Repo) -> bool:
        """Gate file downloads of gated repos; sends GatedRepo when refused."""
        if not repo.gated:
            return True
        state = self._token_state()
        if state == "granted":
            return True
        if state == "none":
            self._error(
                401,
                "GatedRepo",
                f"Access to model {repo.repo_id} is restricted. You must have access "
                "to it and be authenticated to access it. Please log in.",
            )
        else:
            self._error(
                403,
                "GatedRepo",
                f"Access to model {repo.repo_id} is restricted and you are not in the authorized list.",
            )
        return False

    # -- routing ----------------------------------------------------------------

    def _route(self, method: str) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        segments = url.path.split("/")[1:]
        if segments and segments[-1] == "" and len(segments) > 1:
            segments = segments[:-1]

        if segments[:1] == ["api"]:
            self._route_api(method, segments[1:], query)
            return
        if len(segments) == 2 and segments[0] == "cdn" and method in ("GET", "HEAD"):
            self._cdn(segments[1])
            return
        type_plural = "models"
        if segments and segments[0] in RESOLVE_PREFIXES:
            type_plural, segments = segments[0], segments[1:]
        if len(segments) >= 5 and segments[2] == "resolve" and method in ("GET", "HEAD"):
            self._resolve(type_plural, unquote(segments[0]), unquote(segments[1]), segments[3:])
            return
        self._error(404, None, f"Not found: {url.path}")

    def _route_api(self, method: str, segments: list[str], query: dict[str, list[str]]) -> None:
        if segments == ["whoami-v2"] and method in ("GET", "HEAD"):
            if self._token_state() == "granted":
                self._json(
                    {
                        "type": "user",
                        "name": "fakehub-user",
                        "fullname": "Fake Hub User",
                        "orgs": [],
                        "auth": {"type": "access_token", "accessToken": {"displayName": "test", "role": "read"}},
                    }
                )
            else:
                self._error(401, None, "Invalid credentials in Authorization header")
            return
        if segments == ["agent-harnesses"] and method in ("GET", "HEAD"):
            self._json({"standardEnvVars": [], "harnesses": {}})
            return
        if len(segments) < 3 or segments[0] not in REPO_TYPES:
            self._error(404, None, "Not found")
            return
        repo = self._visible(self.server.store.repo(segments[0], unquote(segments[1]), unquote(segments[2])))
        if repo is None:
            return
        rest = segments[3:]
        if not rest and method in ("GET", "HEAD"):
            self._info(repo, "main", query)
        elif len(rest) >= 2 and rest[0] == "revision" and method in ("GET", "HEAD"):
            self._info(repo, "/".join(unquote(s) for s in rest[1:]), query)
        elif len(rest) >= 2 and rest[0] == "tree" and method in ("GET", "HEAD"):
            path = "/".join(unquote(s) for s in rest[2:]).strip("/")
            self._tree(repo, unquote(rest[1]), path, query)
        elif rest == ["refs"] and method in ("GET", "HEAD"):
            self._refs(repo, query)
        elif len(rest) == 2 and rest[0] == "paths-info" and method == "POST":
            self._paths_info(repo, unquote(rest[1]))
        else:
            self._error(404, None, "Not found")

    # -- API endpoints ------------------------------------------------------------

    def _snapshot_or_error(self, repo: Repo, revision: str) -> Snapshot | None:
        snap = self.server.store.resolve(repo, revision)
        if snap is None:
            self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        return snap

    def _info(self, repo: Repo, revision: str, query: dict[str, list[str]]) -> None:
        snap = self._snapshot_or_error(repo, revision)
        if snap is None:
            return
        with_blobs = is_truthy((query.get("blobs") or [None])[0])
        payload = {
            "_id": hashlib.sha1(f"{repo.type_plural}/{repo.repo_id}".encode()).hexdigest()[:24],
            "id": repo.repo_id,
            "author": repo.repo_id.split("/")[0],
            "sha": snap.commit,
            "lastModified": iso_utc(snap.last_modified),
            "private": repo.private,
            "gated": repo.gated,
            "disabled": False,
            "tags": [],
            "siblings": [f.sibling(with_blobs) for f in snap.files.values()],
        }
        if repo.type_plural == "models":
            payload["modelId"] = repo.repo_id
        self._json(payload)

    def _tree(self, repo: Repo, revision: str, path: str, query: dict[str, list[str]]) -> None:
        snap = self._snapshot_or_error(repo, revision)
        if snap is None:
            return
        recursive = is_truthy((query.get("recursive") or [None])[0])
        items = snap.tree_items(path, recursive)
        if items is None:
            self._error(404, "EntryNotFound", f'{path} does not exist on "{revision}"', snap.commit)
            return
        try:
            cursor = max(0, int((query.get("cursor") or ["0"])[0]))
        except ValueError:
            self._error(400, None, "Invalid cursor")
            return
        end = cursor + self.server.options.page_size
        headers: dict[str, str | int] = {}
        if end < len(items):
            next_query = {k: v[0] for k, v in query.items() if k != "cursor"}
            next_query["cursor"] = str(end)
            url = urlsplit(self.path)
            headers["Link"] = f'<{self._base_url()}{url.path}?{urlencode(next_query)}>; rel="next"'
        self._json(items[cursor:end], headers)

    def _paths_info(self, repo: Repo, revision: str) -> None:
        snap = self._snapshot_or_error(repo, revision)
        if snap is None:
            return
        form = parse_qs(self._body.decode("utf-8", errors="replace"), keep_blank_values=True)
        if self.headers.get("Content-Type", "").startswith("application/json"):
            try:
                form = {"paths": list(json.loads(self._body or b"{}").get("paths", []))}
            except (ValueError, AttributeError):
                self._error(400, None, "Invalid JSON body")
                return
        items = []
        for path in form.get("paths", []):
            item = snap.path_item(path.strip("/"))
            if item is not None:
                items.append(item)
        self._json(items)

    def _refs(self, repo: Repo, query: dict[str, list[str]]) -> None:
        branches, pulls = [], []
        for snap in self.server.store.snapshots(repo):
            if snap.branch.startswith("refs/pr/"):
                pulls.append({"name": snap.branch, "ref": snap.branch, "targetCommit": snap.commit})
            else:
                branches.append({"name": snap.branch, "ref": f"refs/heads/{snap.branch}", "targetCommit": snap.commit})
        payload: dict = {"branches": branches, "tags": [], "converts": []}
        if is_truthy((query.get("include_prs") or [None])[0]):
            payload["pullRequests"] = pulls
        self._json(payload)

    # -- files ----------------------------------------------------------------------

    def _resolve(self, type_plural: str, org: str, name: str, rest: list[str]) -> None:
        repo = self._visible(self.server.store.repo(type_plural, org, name))
        if repo is None:
            return
        # The revision is one url-quoted segment; accept an unquoted refs/pr/N too.
        if rest[0] == "refs" and len(rest) >= 4:
            revision, path_segments = "/".join(rest[:3]), rest[3:]
        else:
            revision, path_segments = unquote(rest[0]), rest[1:]
        path = "/".join(unquote(s) for s in path_segments)
        snap = None
        if COMMIT_RE.fullmatch(revision):
            snap = self.server.store.cached_commit(repo, revision, path)
        if snap is None:
            snap = self._snapshot_or_error(repo, revision)
        if snap is None or not self._files_allowed(repo):
            return
        stored = snap.files.get(path)
        if stored is None:
            self._error(404, "EntryNotFound", f'{path} does not exist on "{revision}"', snap.commit)
            return
        headers: dict[str, str | int] = {"X-Repo-Commit": snap.commit, "ETag": f'"{stored.oid}"'}
        if stored.is_lfs:
            headers["X-Linked-Etag"] = f'"{stored.sha256}"'
            headers["X-Linked-Size"] = stored.size
        if self.server.options.redirect and stored.is_lfs:
            headers["Location"] = f"{self._base_url(self.server.options.cdn_host)}/cdn/{stored.sha256}"
            self._reply(302, b"", headers, content_type="text/plain")
            return
        self._send_file(stored, headers)

    def _cdn(self, sha256: str) -> None:
        stored = self.server.store.by_sha256(sha256) if SHA256_RE.fullmatch(sha256) else None
        if stored is None:
            self._error(404, None, "No such object")
            return
        self._send_file(stored, {"ETag": f'"{stored.sha256}"'})

    def _send_file(self, stored: StoredFile, headers: dict[str, str | int]) -> None:
        """Serve the bytes of a stored file, honouring Range and the fault options."""
        opts = self.server.options
        size = stored.size
        if self._method == "HEAD":
            headers = {"Accept-Ranges": "bytes", **headers}
            self._start(200, {"Content-Type": "application/octet-stream", "Content-Length": size, **headers})
            return
        failing = opts.fail_first and stored.matches(opts.fail_glob or ["*"])
        if failing and self.server.count_get(stored) < opts.fail_first:
            extra: dict[str, str | int] = {"Retry-After": 0} if opts.fail_status in (429, 503) else {}
            self._error(opts.fail_status, None, "Injected failure (--fail-first)", extra=extra)
            return
        start, end = 0, size - 1
        status = 200
        # --ignore-range: a server without range support sends the whole body, as 200.
        ranged = not stored.matches(opts.ignore_range)
        if ranged:
            headers = {"Accept-Ranges": "bytes", **headers}
        spec = self.headers.get("Range") if ranged else None
        match = RANGE_RE.fullmatch(spec.strip()) if spec else None
        if match and (match.group(1) or match.group(2)):
            first, last = match.group(1), match.group(2)
            if first:
                start = int(first)
                end = min(int(last), size - 1) if last else size - 1
            else:  # suffix range: the last N bytes
                start = max(0, size - int(last))
            if start >= size or start > end:
                self._reply(416, b"", {"Content-Range": f"bytes */{size}", **headers}, content_type="text/plain")
                return
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        length = end - start + 1 if size else 0
        self._start(status, {"Content-Type": "application/octet-stream", "Content-Length": length, **headers})

        to_send = length
        if stored.matches(opts.truncate) and start == 0 and length > 0:
            to_send = length // 2
        flip_at = size // 2 if size and stored.matches(opts.corrupt) else -1
        slow = stored.matches(opts.slow)
        offset = start
        with open(stored.disk_path, "rb") as fh:
            fh.seek(start)
            while offset < start + to_send:
                chunk = bytearray(fh.read(min(CHUNK_SIZE, start + to_send - offset)))
                if not chunk:
                    break
                if offset <= flip_at < offset + len(chunk):
                    chunk[flip_at - offset] ^= 0xFF
                if slow and offset > start:
                    time.sleep(SLOW_DELAY_S)
                self.wfile.write(chunk)
                self._sent += len(chunk)
                offset += len(chunk)
        if to_send < length:
            self.close_connection = True
            self.wfile.flush()
            with contextlib.suppress(OSError):
                self.connection.shutdown(2)


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line of the server."""
    parser = argparse.ArgumentParser(description="Fake Hugging Face Hub for tests.")
    parser.add_argument("--store", required=True, type=Path, help="store directory (see module doc)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = ephemeral)")
    parser.add_argument("--redirect", action="store_true", help="302 LFS files to the /cdn endpoint")
    parser.add_argument(
        "--cdn-host", default="localhost", help="host name used in redirect URLs (default localhost: another origin)"
    )
    parser.add_argument("--token", help="bearer token that opens gated and private repos")
    parser.add_argument("--log", type=Path, help="append one JSON line per request to this file")
    parser.add_argument("--page-size", type=int, default=1000, help="tree items per page")
    parser.add_argument(
        "--truncate",
        action="append",
        default=[],
        metavar="GLOB",
        help="send half of a body that starts at byte 0, then close",
    )
    parser.add_argument("--corrupt", action="append", default=[], metavar="GLOB", help="flip the byte at size//2")
    parser.add_argument("--slow", action="append", default=[], metavar="GLOB", help="sleep 50 ms between 64 KiB chunks")
    parser.add_argument(
        "--ignore-range",
        action="append",
        default=[],
        metavar="GLOB",
        help="no range support: GETs ignore Range and answer 200 with the whole body",
    )
    parser.add_argument(
        "--fail-first", type=int, default=0, metavar="N", help="the first N GETs of each file answer --fail-status"
    )
    parser.add_argument(
        "--fail-glob", action="append", default=[], metavar="GLOB", help="files --fail-first applies to (default: all)"
    )
    parser.add_argument(
        "--fail-status",
        type=int,
        default=500,
        metavar="CODE",
        help="status of the --fail-first failures (default 500; 429 and 503 add Retry-After: 0)",
    )
    parser.add_argument("--verbose", action="store_true", help="access log on stderr")
    args = parser.parse_args(argv)
    if args.page_size < 1:
        parser.error("--page-size must be at least 1")
    if not 400 <= args.fail_status <= 599:
        parser.error("--fail-status must be an error status (400-599)")
    if not args.store.is_dir():
        parser.error(f"--store {args.store} is not a directory")
    return args


def main(argv: list[str] | None = None) -> int:
    """Start the server, print READY, serve until SIGTERM/SIGINT."""
    args = parse_args(argv)
    options = Options(
        redirect=args.redirect,
        cdn_host=args.cdn_host,
        token=args.token,
        page_size=args.page_size,
        truncate=args.truncate,
        corrupt=args.corrupt,
        slow=args.slow,
        ignore_range=args.ignore_range,
        fail_first=args.fail_first,
        fail_glob=args.fail_glob,
        fail_status=args.fail_status,
        log_path=args.log,
        verbose=args.verbose,
    )
    server = HubServer(("127.0.0.1", args.port), Store(args.store.resolve()), options)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    print(f"READY http://127.0.0.1:{server.port}", flush=True)
    while not stop.wait(0.5):
        pass
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
