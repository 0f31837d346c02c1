"""Pretrained checkpoints: resolve a preset through the hub's index.json, download its files into a
verified cache (safe checkpoint loading: zoo/checkpoints.py; serving a hub folder over HTTP:
zoo/hub_server.py).

A hub is a folder (or a URL of one) holding `index.json` and one sub-folder per preset:
index.json maps a preset name to {"files": {relative path: {"sha256", "size"}}, "metrics", ...}.
Sources: a local path, file://, http(s):// (urllib, with HTTP Range resume), and gs:// (or any
other tf.io.gfile filesystem). The base location is `ZOO_HUB_URL`, by default the repository's own
hub/ folder, so everything works offline. The cache lives under `ZOO_HOME` (default ~/.cache/zoo).

Every file is written to `<file>.part` in the cache folder while it is hashed, fsynced, and renamed
onto its final path only when size and sha256 match the index: the final path never holds an
unverified file. A per-file lock (fcntl) lets concurrent pulls of one file, from threads or
processes, download it once; a pull killed mid-file leaves a `.part` that the next pull resumes.
"""

from __future__ import annotations

import difflib
import fcntl
import hashlib
import http.client
import http.server
import json
import os
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from zoo.errors import HubError

CHUNK = 1 << 16
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 3
MAX_INDEX_BYTES = 16 << 20
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_GFILE_SCHEMES = ("gs", "s3", "hdfs", "ram")
_AUX_SUFFIXES = (".part", ".lock")


# ---------------------------------------------------------------- locations

@dataclass(frozen=True)
class _Location:
    kind: str  # "local" | "http" | "gfile"
    base: str  # folder path, or URL without a trailing slash

    def join(self, *parts: str) -> str:
        if self.kind == "local":
            return str(Path(self.base, *parts))
        quoted = [urllib.parse.quote(p, safe="/") for p in parts] if self.kind == "http" else list(parts)
        return "/".join([self.base, *quoted])


def default_hub_url() -> str:
    """`ZOO_HUB_URL`, else the embedded hub folder (zoo.presets.hub_dir)."""
    from zoo.presets import hub_dir

    return os.environ.get("ZOO_HUB_URL") or str(hub_dir())


def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    env = os.environ.get("ZOO_HOME")
    return Path(env) if env else Path.home() / ".cache" / "zoo"


def _offline(offline: bool) -> bool:
    return bool(offline) or os.environ.get("ZOO_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _location(hub_url) -> _Location:
    url = str(hub_url if hub_url is not None else default_hub_url())
    parsed = urllib.parse.urlparse(url)
    scheme = parsed.scheme.lower()
    if scheme in ("http", "https"):
        return _Location("http", url.rstrip("/"))
    if scheme == "file":
        return _Location("local", urllib.request.url2pathname(parsed.path))
    if scheme in _GFILE_SCHEMES:
        return _Location("gfile", url.rstrip("/"))
    if scheme and len(scheme) > 1:  # one letter would be a Windows drive
        raise HubError(f"unsupported hub URL scheme {scheme!r}", received=url,
                       expected="a folder path, file://, http://, https:// or gs:// URL",
                       fix="set ZOO_HUB_URL to a supported location")
    return _Location("local", str(Path(url).expanduser().resolve()))


def _check_relpath(rel: str, where: str) -> str:
    """Index paths are relative, forward-slashed, and stay inside their preset folder."""
    parts = rel.split("/")
    if (not rel or "\\" in rel or rel.startswith("/") or any(p in ("", ".", "..") for p in parts)
            or any(p.endswith(_AUX_SUFFIXES) for p in parts)):
        raise HubError(f"unsafe file path in the hub index at {where}", received=rel,
                       expected="a relative path inside the preset folder (no '..', no absolute paths)",
                       fix="fix the hub's index.json; this hub cannot be trusted as it is")
    return rel


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise HubError("invalid preset name", received=repr(name),
                       expected="letters, digits, '_', '.', '-' (not starting with '.' or '-')",
                       fix="run `zoo list` to see every preset")
    return name


def _validate_index(index, where: str) -> dict:
    if not isinstance(index, dict):
        raise HubError(f"hub index at {where} is not a JSON object", received=type(index).__name__,
                       expected="{preset: {'files': {...}}}", fix="point ZOO_HUB_URL at a zoo hub")
    for name, entry in index.items():
        files = entry.get("files") if isinstance(entry, dict) else None
        if not isinstance(files, dict):
            raise HubError(f"hub index at {where}: entry {name!r} has no 'files' object", received=entry,
                           fix="regenerate the index with training/publish.py")
        for rel, meta in files.items():
            _check_relpath(rel, where)
            sha = meta.get("sha256") if isinstance(meta, dict) else None
            size = meta.get("size") if isinstance(meta, dict) else None
            if not (isinstance(sha, str) and _SHA256.match(sha)) or not (
                    size is None or (isinstance(size, int) and size >= 0)):
                raise HubError(f"hub index at {where}: bad record for {name}/{rel}", received=meta,
                               expected="{'sha256': 64 lowercase hex digits, 'size': bytes}",
                               fix="regenerate the index with training/publish.py")
    return index


# ---------------------------------------------------------------- sources

class _Transient(Exception):
    """A failure worth retrying with the .part kept (drop, timeout, truncation, 5xx)."""


class _Corrupt(Exception):
    """Bytes that can never verify: the .part is discarded and the next try starts from zero."""


def _open_stream(loc: _Location, url: str, offset: int, timeout: float):
    """Open `url` at byte `offset`. Returns (stream, start, content_length, close); `start` is where
    the body begins (0 when the source ignored the offset)."""
    if loc.kind == "http":
        headers = {"User-Agent": "audio-zoo-hub", "Accept-Encoding": "identity"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        try:
            resp = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code == 416:
                raise _Corrupt(f"server refused the resume range (HTTP 416) for {url}") from exc
            if exc.code >= 500 or exc.code in (408, 429):
                raise _Transient(f"HTTP {exc.code} from {url}") from exc
            raise HubError(f"cannot download {url}: HTTP {exc.code} {exc.reason}",
                           fix="check ZOO_HUB_URL and that the hub holds this preset") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise _Transient(f"cannot reach {url}: {exc}") from exc
        start = 0
        if resp.status == 206:
            match = re.match(r"bytes (\d+)-\d+/(\d+|\*)", resp.headers.get("Content-Range", ""))
            start = int(match.group(1)) if match else -1
            if start != offset:
                resp.close()
                raise _Corrupt(f"server answered the range request for {url} with the wrong bytes "
                               f"(Content-Range {resp.headers.get('Content-Range')!r}, asked from {offset})")
        length = resp.headers.get("Content-Length")
        return resp, start, (int(length) if length and length.isdigit() else None), resp.close
    if loc.kind == "local":
        try:
            f = open(url, "rb")
        except FileNotFoundError as exc:
            raise HubError(f"hub file not found: {url}", fix="check ZOO_HUB_URL and the hub folder") from exc
        size = os.fstat(f.fileno()).st_size
    else:
        import tensorflow as tf

        if not tf.io.gfile.exists(url):
            raise HubError(f"hub file not found: {url}", fix="check ZOO_HUB_URL and the bucket")
        size = tf.io.gfile.stat(url).length
        f = tf.io.gfile.GFile(url, "rb")
    start = offset if offset <= size else 0
    f.seek(start)
    return f, start, size - start, f.close


def _read_all(loc: _Location, url: str, timeout: float, retries: int, backoff: float) -> bytes:
    last = None
    for attempt in range(retries + 1 if loc.kind == "http" else 1):
        if attempt:
            time.sleep(backoff * attempt)
        try:
            stream, _, length, close = _open_stream(loc, url, 0, timeout)
            try:
                data = bytearray()
                while len(data) <= MAX_INDEX_BYTES:
                    block = _read_chunk(stream, CHUNK)
                    if not block:
                        break
                    data += block
            finally:
                close()
            if len(data) > MAX_INDEX_BYTES:
                raise HubError(f"hub index at {url} is larger than {MAX_INDEX_BYTES} bytes")
            if length is not None and len(data) != length:
                raise _Transient(f"truncated response from {url}: {len(data)} of {length} bytes")
            return bytes(data)
        except (_Transient, _Corrupt) as exc:
            last = exc
    raise HubError(f"cannot download {url} after {retries + 1} tries: {last}",
                   fix="check the network and ZOO_HUB_URL, or use offline mode with a cached hub")


def _read_chunk(stream, n: int) -> bytes:
    """Up to n bytes, as soon as some arrive (so a stalled or killed download keeps what it got)."""
    read = getattr(stream, "read1", stream.read)
    try:
        return read(n)
    except (OSError, http.client.HTTPException) as exc:  # timeout, reset, incomplete read
        raise _Transient(f"connection lost: {exc}") from exc


# ---------------------------------------------------------------- index

def _index_cache_path(loc: _Location, cache_dir) -> Path:
    key = hashlib.sha256(loc.base.encode()).hexdigest()[:16]
    return cache_root(cache_dir) / "indexes" / f"{key}.json"


def resolve_index(hub_url=None, *, cache_dir=None, offline: bool = False, timeout: float = DEFAULT_TIMEOUT,
                  retries: int = DEFAULT_RETRIES, backoff: float = 0.5) -> dict:
    """The hub's index.json as a dict. A remote index is cached, and offline mode reads the cache."""
    loc = _location(hub_url)
    url = loc.join("index.json")
    cached = _index_cache_path(loc, cache_dir)
    if loc.kind != "local" and _offline(offline):
        if not cached.exists():
            raise HubError(f"offline and no cached index for {url}",
                           fix="run `zoo pull NAME` once online, or set ZOO_HUB_URL to a local hub folder")
        data = cached.read_bytes()
    elif loc.kind == "local" and not os.path.exists(url):
        if os.path.isdir(loc.base):
            return {}  # a hub folder with nothing published yet
        raise HubError(f"hub folder not found: {loc.base}",
                       fix="set ZOO_HUB_URL to a hub folder or URL that holds index.json")
    else:
        data = _read_all(loc, url, timeout, retries, backoff)
    try:
        index = _validate_index(json.loads(data.decode("utf-8")), url)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HubError(f"hub index at {url} is not valid JSON: {exc}", fix="check ZOO_HUB_URL") from exc
    if loc.kind != "local" and not _offline(offline):
        cached.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(cached, data)
    return index


# ---------------------------------------------------------------- download

def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _commit(part: Path, dest: Path) -> None:
    """The only way a file reaches its final path (called after verification)."""
    os.replace(part, dest)
    _fsync_dir(dest.parent)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _verified(path: Path, meta: dict) -> bool:
    if not path.is_file():
        return False
    if meta.get("size") is not None and path.stat().st_size != meta["size"]:
        return False
    return _sha256(path) == meta["sha256"]


class _FileLock:
    """An exclusive fcntl lock on `path`, waited for at most `timeout` seconds. The kernel drops it
    when its holder dies, so a killed pull never blocks the next one."""

    def __init__(self, path: Path, timeout: float):
        self.path, self.timeout, self.fd = path, timeout, None

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(self.fd)
                    raise HubError(f"timed out after {self.timeout:.0f} s waiting for the lock {self.path}",
                                   fix="another pull of this file is still running; wait or stop it") from None
                time.sleep(0.02)

    def __exit__(self, *exc):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def _download(loc, url, part: Path, meta: dict, *, timeout, progress, desc) -> None:
    """One try: resume `part` from its current size, stream the rest, verify. Raises _Transient
    (part kept), _Corrupt (part deleted) or HubError."""
    from tqdm.auto import tqdm

    size, expected = meta.get("size"), meta["sha256"]
    offset = part.stat().st_size if part.exists() else 0
    if size is not None and offset >= size:
        offset = 0
    hasher = hashlib.sha256()
    if offset:
        with open(part, "rb") as f:
            for block in iter(lambda: f.read(CHUNK), b""):
                hasher.update(block)
    close = None
    try:
        stream, start, length, close = _open_stream(loc, url, offset, timeout)
        if start == 0 and offset:  # the source ignored the range: start over
            hasher, offset = hashlib.sha256(), 0
        if size is not None and length is not None and offset + length != size:
            raise _Corrupt(f"wrong size from {url}: the response holds {offset + length} bytes in all "
                           f"(received), the index says {size} (expected)")
        with open(part, "r+b" if offset else "wb") as out, tqdm(
                total=size, initial=offset, unit="B", unit_scale=True, unit_divisor=1024, desc=desc,
                disable=not progress, leave=False) as bar:
            out.seek(offset)
            out.truncate()
            written = offset
            while True:
                block = _read_chunk(stream, CHUNK)
                if not block:
                    break
                written += len(block)
                if size is not None and written > size:
                    raise _Corrupt(f"wrong size from {url}: more than the {size} bytes the index records")
                out.write(block)
                out.flush()  # what arrived is on disk for a resume, even if this process is killed
                hasher.update(block)
                bar.update(len(block))
            out.flush()
            os.fsync(out.fileno())
    except _Corrupt:
        part.unlink(missing_ok=True)
        raise
    finally:
        if close is not None:
            close()
    if size is not None and written < size:
        raise _Transient(f"truncated download of {url}: {written} of {size} bytes")
    actual = hasher.hexdigest()
    if actual != expected:
        part.unlink(missing_ok=True)
        raise _Corrupt(HubError(f"sha256 mismatch for {url}", received=actual, expected=expected,
                                fix="the hub file is corrupt or the index is stale: pull again, or "
                                    "point ZOO_HUB_URL at a good mirror"))


def _fetch_file(loc, name, rel, meta, folder: Path, *, offline, timeout, retries, backoff, progress,
                lock_timeout) -> Path:
    dest = folder / rel
    if _verified(dest, meta):
        return dest
    url = loc.join(name, rel)
    if loc.kind != "local" and offline:
        state = "is corrupt" if dest.exists() else "is not in the cache"
        raise HubError(f"offline and {name}/{rel} {state} ({dest})", received=url,
                       fix="run `zoo pull` once online, or unset ZOO_OFFLINE")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    with _FileLock(dest.with_name(dest.name + ".lock"), lock_timeout):
        if _verified(dest, meta):  # another process finished it while we waited
            return dest
        last = None
        for attempt in range(retries + 1 if loc.kind == "http" else 1):
            if attempt and backoff:
                time.sleep(backoff * attempt)
            try:
                _download(loc, url, part, meta, timeout=timeout, progress=progress, desc=f"{name}/{rel}")
            except (_Transient, _Corrupt) as exc:
                last = exc
                continue
            _commit(part, dest)
            return dest
    if isinstance(last, _Corrupt) and isinstance(last.args[0], HubError):
        raise last.args[0]
    raise HubError(f"cannot download {url} after {attempt + 1} tries: {last}", expected=meta["sha256"],
                   fix="check the network and ZOO_HUB_URL; pull again to resume from the partial file")


def pull_entry(name: str, *, hub_url=None, cache_dir=None, offline: bool = False, progress: bool = True,
               files=None, index: dict | None = None, timeout: float = DEFAULT_TIMEOUT,
               retries: int = DEFAULT_RETRIES, backoff: float = 0.5,
               lock_timeout: float = 600.0) -> tuple[Path, dict]:
    """`pull`, also returning the preset's index entry (the hashes the files were verified against)."""
    _check_name(name)
    loc = _location(hub_url)
    offline = _offline(offline)
    if index is None:
        index = resolve_index(hub_url, cache_dir=cache_dir, offline=offline, timeout=timeout,
                              retries=retries, backoff=backoff)
    else:
        _validate_index(index, "the given index")
    if name not in index:
        close = difflib.get_close_matches(name, list(index), n=3)
        raise HubError(f"preset {name!r} is not in the hub index at {loc.join('index.json')}", received=name,
                       expected=f"one of {len(index)} published presets" + (f", e.g. {', '.join(close)}" if close else ""),
                       fix="run `zoo list` for the presets with pretrained files, or train it with `zoo train`")
    entry = index[name]
    wanted = list(entry["files"]) if files is None else list(files)
    missing = [f for f in wanted if f not in entry["files"]]
    if missing:
        raise HubError(f"preset {name!r} has no such file in the hub", received=missing,
                       expected=sorted(entry["files"]))
    folder = cache_root(cache_dir) / "hub" / name
    for rel in wanted:
        _fetch_file(loc, name, rel, entry["files"][rel], folder, offline=offline, timeout=timeout,
                    retries=retries, backoff=backoff, progress=progress, lock_timeout=lock_timeout)
    return folder, entry


def pull(name: str, *, hub_url=None, cache_dir=None, offline: bool = False, progress: bool = True,
         **kwargs) -> Path:
    """Download (or re-verify) the files of preset `name` into the cache and return its folder.

    Every file is checked against the index's size and sha256, also when it is already cached.
    Keyword options: files (a subset of the entry's files), index (an already resolved index),
    timeout (seconds per network operation), retries, backoff, lock_timeout.
    """
    return pull_entry(name, hub_url=hub_url, cache_dir=cache_dir, offline=offline, progress=progress,
                      **kwargs)[0]


# ---------------------------------------------------------------- CLI entry points (zoo/cli.py)

def pull_command(name: str, *, offline: bool = False, hub_url: str | None = None, quiet: bool = False) -> int:
    folder, entry = pull_entry(name, hub_url=hub_url, offline=offline, progress=not quiet)
    for rel, meta in sorted(entry["files"].items()):
        print(f"{folder / rel}  {meta.get('size', '?')} bytes  sha256 {meta['sha256']}  verified")
    return 0


__all__ = ["default_hub_url", "pull", "pull_command", "pull_entry", "resolve_index", "cache_root"]
