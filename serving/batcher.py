"""Batcher: server-side batching of concurrent requests to one signature (TF Serving's
BatchingParameters: max_batch_size, batch_timeout_micros, max_enqueued_batches, num_batch_threads,
allowed_batch_sizes). Requests batch together only when their non-batch shapes agree; a request
with more rows than max_batch_size runs alone. A full queue answers UNAVAILABLE; a request whose
deadline passed while queued is dropped without running."""

from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import Future

import numpy as np

from serving.errors import ServingError


class _Item:
    __slots__ = ("inputs", "rows", "key", "deadline", "enqueued", "future")

    def __init__(self, inputs, deadline):
        self.inputs = inputs
        self.rows = next(iter(inputs.values())).shape[0]
        self.key = tuple(sorted((k, v.shape[1:], v.dtype.str) for k, v in inputs.items()))
        self.deadline = deadline
        self.enqueued = time.monotonic()
        self.future = Future()


class Batcher:
    def __init__(self, run, params, *, name: str = ""):
        self._run = run
        self.params = params
        self.name = name
        self._queue: deque[_Item] = deque()
        self._rows = 0
        self._cond = threading.Condition()
        self._closing = False
        self.batches_run = 0
        self.batch_sizes: list[int] = []
        self._threads = [threading.Thread(target=self._work, name=f"batcher-{name}-{i}", daemon=True)
                         for i in range(params.num_batch_threads)]
        for t in self._threads:
            t.start()

    def enqueue(self, inputs: dict, deadline: float | None) -> Future:
        """Queue a request; its Future resolves to the outputs for its rows. A request with more rows
        than max_batch_size runs as a batch of its own. A full queue raises UNAVAILABLE."""
        item = _Item(inputs, deadline)
        capacity = self.params.max_batch_size * self.params.max_enqueued_batches
        with self._cond:
            if self._closing:
                raise ServingError("UNAVAILABLE", f"{self.name} is unloading", fix="retry")
            if item.rows <= self.params.max_batch_size and self._rows + item.rows > capacity:
                raise ServingError("UNAVAILABLE", f"batch queue of {self.name} is full",
                                   received=f"{self._rows} queued rows", expected=f"at most {capacity}",
                                   fix="retry with backoff, or raise max_enqueued_batches")
            self._queue.append(item)
            self._rows += item.rows
            # Wake a batch thread only when it has something new to decide: an idle one (the queue
            # was empty) or a batch that may now be full. Otherwise its timed wait ends on its own;
            # waking it for every request cost a thread switch per request.
            if len(self._queue) == 1 or self._rows >= self.params.max_batch_size:
                self._cond.notify()
        return item.future

    def submit(self, inputs: dict, deadline: float | None) -> dict:
        """enqueue, then wait for the outputs (at most until the deadline)."""
        future = self.enqueue(inputs, deadline)
        # clamped: a gRPC call without a deadline arrives with one ~infinitely far (wait() overflows)
        timeout = None if deadline is None else min(max(0.0, deadline - time.monotonic()), threading.TIMEOUT_MAX)
        try:
            return future.result(timeout=timeout)
        except TimeoutError:
            future.cancel()
            raise ServingError("DEADLINE_EXCEEDED", "the deadline passed while the request waited for a batch") from None

    def _take(self) -> list[_Item] | None:
        """Under the lock: wait for a batch (full, or its first item older than the timeout)."""
        timeout = self.params.batch_timeout_micros / 1e6
        while True:
            if not self._queue:
                if self._closing:
                    return None
                self._cond.wait()
                continue
            first = self._queue[0]
            same = [it for it in self._queue if it.key == first.key]
            total = sum(it.rows for it in same)
            wait = first.enqueued + timeout - time.monotonic()
            if total >= self.params.max_batch_size or wait <= 0 or self._closing:
                batch, rows = [first], first.rows  # the first always runs, alone when it is oversized
                for it in same[1:]:
                    if rows + it.rows > self.params.max_batch_size:
                        break
                    batch.append(it)
                    rows += it.rows
                for it in batch:
                    self._queue.remove(it)
                    self._rows -= it.rows
                return batch
            self._cond.wait(wait)

    def _work(self):
        while True:
            with self._cond:
                batch = self._take()
            if batch is None:
                return
            now = time.monotonic()
            live = []
            for it in batch:
                if it.future.cancelled() or not it.future.set_running_or_notify_cancel():
                    continue
                if it.deadline is not None and now >= it.deadline:
                    it.future.set_exception(ServingError("DEADLINE_EXCEEDED", "the deadline passed while queued"))
                    continue
                live.append(it)
            if live:
                self._execute(live)

    def _execute(self, items):
        rows = sum(it.rows for it in items)
        size = rows
        for allowed in self.params.allowed_batch_sizes:
            if allowed >= rows:
                size = allowed
                break
        inputs = {}
        for key in items[0].inputs:
            parts = [it.inputs[key] for it in items]
            if size > rows:  # pad to an allowed batch size with copies of the first row
                parts.append(np.repeat(parts[0][:1], size - rows, axis=0))
            inputs[key] = np.concatenate(parts, axis=0) if len(parts) > 1 else parts[0]
        self.batches_run += 1
        self.batch_sizes.append(rows)
        try:
            out = self._run(inputs)
        except Exception as exc:  # one failing row fails the batch: rerun each request alone
            if len(items) == 1:
                items[0].future.set_exception(exc)
                return
            for it in items:
                try:
                    it.future.set_result(self._run(it.inputs))
                except Exception as e:
                    it.future.set_exception(e)
            return
        start = 0
        for it in items:
            part = {}
            for k, v in out.items():
                batched = np.ndim(v) > 0 and v.shape[0] == size
                part[k] = v[start:start + it.rows] if batched else v
            start += it.rows
            it.future.set_result(part)

    def close(self, timeout: float = 30.0) -> None:
        """Run what is queued, then stop the threads."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        end = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, end - time.monotonic()))
