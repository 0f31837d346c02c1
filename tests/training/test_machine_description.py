"""The machine line of a run summary says how many cores the run could use."""

import os

from training.train import _machine


def test_a_run_pinned_to_fewer_cores_says_so(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {1}, raising=False)
    assert " 1 of 2 cores, " in _machine()
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert " 2 cores, " in _machine() and " of " not in _machine()
