"""Fault injection against a loopback HTTP hub (issue 5, "What it must show").

Over a hundred faults in one run: truncated bodies, wrong bytes, wrong sizes, connections reset
mid-file then resumed, 404/416/500, a server too slow for the timeout, a server that ignores or
garbles the resume range, concurrent pulls of one file from threads and from processes, and pulls
killed with SIGKILL mid-download. Every case must end in a clear HubError or a correct file; a
guard on the commit step and a scan of the cache after every case prove that no unverified file
ever reaches a final path.
"""

import collections
import hashlib
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.hub.conftest import random_bytes, write_hub
from zoo import hub
from zoo.errors import HubError
from zoo.hub_server import HubRequestHandler, HubServer

REPO = Path(__file__).resolve().parents[2]
PRESET = "p"
FILES = {
    "model.weights.h5": random_bytes(256 * 1024 + 17, 11),
    "saved_model/variables/variables.data-00000-of-00001": random_bytes(70_000, 12),
    "report_test.md": b"# test report\n" * 200,
    "tiny.bin": b"\x01\x02\x03\x04\x05",
}
SHA = {rel: hashlib.sha256(data).hexdigest() for rel, data in FILES.items()}
TIMEOUT = 1.0  # client timeout in the random cases; "slow" faults stall longer than this
RETRIES = 2  # three tries per file
FAILING = {  # each makes the try it hits fail for sure (weights: how often the random mix draws it)
    "truncate": 3, "drop": 3, "wrong_bytes": 3, "long": 2, "short": 2, "500": 2, "416": 1, "404": 0.7,
    "slow_headers": 0.4, "slow_body": 0.4,
}
INDEX_FAULTS = ["truncate", "drop", "500", "404"]


class FaultyHandler(HubRequestHandler):
    """Serves the hub like HubRequestHandler, except that each GET first takes the next fault
    planned for its path."""

    fault = None

    def _serve(self, body):
        srv = self.server
        path = self.path.split("?")[0]
        with srv.guard:
            queue = srv.plan.get(path)
            self.fault = queue.popleft() if (queue and self.command == "GET") else None
            srv.log.append((path, self.headers.get("Range"), self.fault))
        fault = self.fault
        if fault in ("404", "500"):
            self.send_error(int(fault))
        elif fault == "416":
            self._unsatisfiable(len(FILES.get(path.split("/", 2)[-1], b"")))
        elif fault == "slow_headers":
            srv.release.wait(srv.slow)  # no response at all within the client's timeout
        else:
            if fault == "ignore_range":
                del self.headers["Range"]
            super()._serve(body)

    def send_header(self, keyword, value):
        if keyword == "Content-Length" and self.fault in ("long", "short"):
            n = int(value)
            value = str(n + 7 if self.fault == "long" else n - min(7, n))
        if keyword == "Content-Range" and self.fault == "bad_range":
            value = "bytes 0-" + value.split("-", 1)[1]
        super().send_header(keyword, value)

    def send_body(self, target, start, end):
        data = target.read_bytes()[start:end + 1]
        fault, srv = self.fault, self.server
        if fault == "truncate":
            self.wfile.write(data[: len(data) // 2])
        elif fault == "drop":  # reset the connection (RST) a third of the way in
            self.wfile.write(data[: len(data) // 3])
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        elif fault == "wrong_bytes":
            flipped = bytearray(data)
            flipped[len(flipped) // 2] ^= 0x5A
            self.wfile.write(bytes(flipped))
        elif fault == "long":
            self.wfile.write(data + b"EXTRA!!")
        elif fault == "short":
            self.wfile.write(data[: len(data) - min(7, len(data))])
        elif fault in ("slow_body", "stall"):
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            srv.release.wait(srv.slow if fault == "slow_body" else 30)
        elif srv.throttle:  # slow enough that concurrent pulls overlap
            for i in range(0, len(data), 16384):
                self.wfile.write(data[i:i + 16384])
                time.sleep(srv.throttle)
        else:
            self.wfile.write(data)


class FaultyServer(HubServer):
    def __init__(self, root):
        self.plan, self.log, self.guard = {}, [], threading.Lock()
        self.release, self.slow, self.throttle = threading.Event(), TIMEOUT * 1.6, 0.0
        super().__init__(root, handler=FaultyHandler)

    def handle_error(self, request, client_address):
        pass  # injected faults break connections on purpose

    def set_plan(self, plans: dict):
        with self.guard:
            self.plan = {path: collections.deque(faults) for path, faults in plans.items()}
            self.log.clear()

    def injected(self) -> list:
        return [entry for entry in self.log if entry[2] is not None]

    def stop(self):
        self.release.set()
        super().stop()


@pytest.fixture
def faulty(tmp_path, monkeypatch):
    for var in ("ZOO_HUB_URL", "ZOO_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    write_hub(tmp_path / "hub", {PRESET: FILES})
    commits = []
    real_commit = hub._commit

    def guarded_commit(part, dest):
        # The invariant under test: what reaches a final path is verified.
        rel = dest.as_posix().rsplit(f"/hub/{PRESET}/", 1)[1]
        assert hashlib.sha256(part.read_bytes()).hexdigest() == SHA[rel], f"unverified file committed to {dest}"
        commits.append(rel)
        real_commit(part, dest)

    monkeypatch.setattr(hub, "_commit", guarded_commit)
    with FaultyServer(tmp_path / "hub") as server:
        server.commits = commits
        yield server


def _final_files(cache: Path) -> dict:
    folder = cache / "hub" / PRESET
    out = {}
    for path in folder.rglob("*") if folder.exists() else ():
        if path.is_file() and not path.name.endswith((".part", ".lock")):
            out[path.relative_to(folder).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _assert_cache_verified(cache: Path):
    for rel, sha in _final_files(cache).items():
        assert sha == SHA[rel], f"unverified file at the final path {rel}"


def _tries(plan, retries=RETRIES):
    """(ok, tries used) for a resource whose tries take the planned faults in order."""
    for attempt in range(retries + 1):
        if attempt >= len(plan):
            return True, attempt + 1
        if plan[attempt] == "404":
            return False, attempt + 1
    return False, retries + 1


def _pull(server, cache, rel, **kwargs):
    options = dict(hub_url=server.url, cache_dir=cache, files=[rel], progress=False, timeout=TIMEOUT,
                   retries=RETRIES, backoff=0)
    options.update(kwargs)
    return hub.pull(PRESET, **options)


def test_random_fault_sequences_end_in_a_clear_error_or_a_verified_file(faulty, tmp_path):
    rng = random.Random(20240605)
    kinds, weights = list(FAILING), list(FAILING.values())
    injected = resumed = errors = successes = 0
    cache, previous_failed = None, False
    for case in range(70):
        rel = rng.choice(list(FILES))
        file_plan = rng.choices(kinds, weights, k=rng.choice([0, 1, 1, 2, 2, 3, 3, 4]))
        index_plan = rng.choices(INDEX_FAULTS, k=rng.choice([1, 2, 3])) if rng.random() < 0.25 else []
        if not (previous_failed and rng.random() < 0.6):  # otherwise resume from the last case's .part
            cache = tmp_path / f"cache{case}"
        faulty.set_plan({"/index.json": index_plan, f"/{PRESET}/{rel}": file_plan})
        index_ok, index_tries = _tries(index_plan)
        file_ok, file_tries = _tries(file_plan) if index_ok else (False, 0)
        try:
            folder = _pull(faulty, cache, rel)
            outcome = None
        except HubError as exc:
            outcome = str(exc)
        log = faulty.log
        assert len([e for e in log if e[0] == "/index.json"]) == index_tries, (case, index_plan, log)
        assert len([e for e in log if e[0] != "/index.json"]) == file_tries, (case, file_plan, log)
        injected += len(faulty.injected())
        resumed += sum(1 for e in log if e[1])
        if index_ok and file_ok:
            assert outcome is None, (case, index_plan, file_plan, outcome)
            assert (folder / rel).read_bytes() == FILES[rel]
            successes += 1
        else:
            errors += 1
            assert outcome is not None, (case, index_plan, file_plan)
            failing_url = f"{faulty.url}/index.json" if not index_ok else f"{faulty.url}/{PRESET}/{rel}"
            assert failing_url in outcome, outcome
            last = (index_plan if not index_ok else file_plan)[(index_tries if not index_ok else file_tries) - 1]
            if last == "404":
                assert "HTTP 404" in outcome
            elif last == "wrong_bytes":
                assert "sha256 mismatch" in outcome and f"expected: {SHA[rel]}" in outcome
                assert "received: " in outcome and outcome.split("received: ")[1][:64] != SHA[rel]
            else:
                assert "tries" in outcome and "fix:" in outcome
            assert rel not in _final_files(cache)
        _assert_cache_verified(cache)
        previous_failed = outcome is not None
    print(f"\nrandom cases: {injected} faults injected, {successes} verified files, {errors} clear errors, "
          f"{resumed} range (resume) requests, {len(faulty.commits)} commits")
    assert injected >= 100 and successes >= 20 and errors >= 10 and resumed >= 10
    assert faulty.commits == [c for c in faulty.commits if c in SHA]


def test_resume_continues_exactly_where_the_connection_broke(faulty, tmp_path):
    rel, size = "model.weights.h5", len(FILES["model.weights.h5"])
    path = f"/{PRESET}/{rel}"
    cases = {
        # faults -> the Range header of each request for the file
        ("truncate",): [None, f"bytes={size // 2}-"],
        ("truncate", "truncate"): [None, f"bytes={size // 2}-", f"bytes={size // 2 + (size - size // 2) // 2}-"],
        ("truncate", "ignore_range"): [None, f"bytes={size // 2}-"],  # a 200 answer restarts from zero
        ("truncate", "bad_range"): [None, f"bytes={size // 2}-", None],  # wrong bytes offered: .part dropped
        ("truncate", "wrong_bytes"): [None, f"bytes={size // 2}-", None],  # resumed file fails: from zero
        ("slow_body",): [None, f"bytes={size // 2}-"],
    }
    injected = 0
    for i, (faults, ranges) in enumerate(cases.items()):
        cache = tmp_path / f"c{i}"
        faulty.set_plan({path: faults})
        folder = _pull(faulty, cache, rel)
        assert (folder / rel).read_bytes() == FILES[rel]
        assert [e[1] for e in faulty.log if e[0] == path] == ranges, faults
        assert not (folder / f"{rel}.part").exists()
        injected += len(faulty.injected())
    # A reset connection loses whatever the kernel had not delivered: the resume starts at what arrived.
    faulty.set_plan({path: ["drop"]})
    _pull(faulty, tmp_path / "drop", rel)
    start = int(faulty.log[-1][1].split("=")[1].rstrip("-"))
    assert 0 < start <= size // 3
    injected += 1
    assert injected == 11


def test_a_server_too_slow_for_the_timeout_is_a_clear_error(faulty, tmp_path):
    faulty.set_plan({f"/{PRESET}/tiny.bin": ["slow_headers"] * 2})
    began = time.monotonic()
    with pytest.raises(HubError, match="after 2 tries.*(timed out|timeout)") as err:
        _pull(faulty, tmp_path / "c", "tiny.bin", retries=1, timeout=0.5)
    assert time.monotonic() - began < 5
    assert f"{faulty.url}/{PRESET}/tiny.bin" in str(err.value)
    assert _final_files(tmp_path / "c") == {}


def test_concurrent_threads_download_a_file_once_through_faults(faulty, tmp_path):
    rel = "model.weights.h5"
    faulty.throttle = 0.002
    faulty.set_plan({f"/{PRESET}/{rel}": ["truncate", "drop"]})
    cache, results = tmp_path / "shared", []

    def worker():
        try:
            results.append(_pull(faulty, cache, rel, timeout=10, lock_timeout=30) / rel)
        except Exception as exc:  # noqa: BLE001 (collected and asserted below)
            results.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == 8 and all(isinstance(r, Path) and r.read_bytes() == FILES[rel] for r in results), results
    assert len([e for e in faulty.log if e[0].endswith(rel)]) == 3  # two faults, then one good download
    assert faulty.commits.count(rel) == 1


def _spawn(server, cache, rel, *, timeout=30.0):
    code = ("import sys; from zoo import hub; "
            "p = hub.pull('p', hub_url=sys.argv[1], cache_dir=sys.argv[2], files=[sys.argv[3]], progress=False, "
            "timeout=float(sys.argv[4]), retries=2, backoff=0, lock_timeout=60); print(p)")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-c", code, server.url, str(cache), rel, str(timeout)], cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_concurrent_processes_download_a_file_once(faulty, tmp_path):
    rel = "saved_model/variables/variables.data-00000-of-00001"
    faulty.throttle = 0.05  # about a quarter of a second per download, so the processes overlap
    faulty.set_plan({f"/{PRESET}/{rel}": ["truncate"]})
    cache = tmp_path / "shared"
    procs = [_spawn(faulty, cache, rel) for _ in range(4)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, outs
    assert len([e for e in faulty.log if e[0].endswith(rel)]) == 2  # one fault, one good download
    assert _final_files(cache) == {rel: SHA[rel]}


def _wait_for_part(part: Path, at_least: int, proc, limit=20.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if part.exists() and part.stat().st_size >= at_least:
            return part.stat().st_size
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    raise AssertionError(f"no partial download at {part}")


def test_pulls_killed_mid_download_leave_no_file_and_the_next_pull_resumes(faulty, tmp_path):
    rel = "model.weights.h5"
    size = len(FILES[rel])
    cache = tmp_path / "shared"
    part = cache / "hub" / PRESET / f"{rel}.part"
    path = f"/{PRESET}/{rel}"
    sizes = []
    # Three downloads killed with SIGKILL while the server stalls after sending half of what was asked.
    faulty.set_plan({path: ["stall"] * 3})
    for _ in range(3):
        proc = _spawn(faulty, cache, rel)
        previous = sizes[-1] if sizes else 0
        sizes.append(_wait_for_part(part, previous + (size - previous) // 2, proc))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL
        assert not (cache / "hub" / PRESET / rel).exists()
    assert sizes[0] < sizes[1] < sizes[2] < size
    # A fourth holds the lock, a fifth waits for it; killing the fourth frees the lock for the fifth.
    faulty.set_plan({path: ["stall"]})
    holder = _spawn(faulty, cache, rel)
    _wait_for_part(part, sizes[-1] + 1, holder)
    waiter = _spawn(faulty, cache, rel)
    time.sleep(0.5)
    assert waiter.poll() is None
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=10)
    out, err = waiter.communicate(timeout=60)
    assert waiter.returncode == 0, err
    ranges = [e[1] for e in faulty.log if e[0] == path]
    assert len(ranges) == 2 and ranges[1] is not None and int(ranges[1][6:-1]) > sizes[-1]
    assert _final_files(cache) == {rel: SHA[rel]}
    assert not part.exists()
    # Nothing planned now: pulling again only re-verifies.
    faulty.set_plan({})
    _pull(faulty, cache, rel)
    assert [e for e in faulty.log if e[0] == path] == []
