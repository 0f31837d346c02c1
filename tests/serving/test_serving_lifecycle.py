"""Version polling (new version before old unloads, broken version refused), config reload, batching,
deadlines, retries, SIGTERM drain."""

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import export_kws, free_port, make_kws_task
from serving.batcher import Batcher
from serving.config import BatchingParameters, ModelConfig
from serving.errors import ServingError

ROOT = Path(__file__).resolve().parents[2]
X = (0.2 * np.random.default_rng(0).standard_normal((1, 16000))).astype(np.float32)


def _wait(cond, timeout=60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return False


class Hammer(threading.Thread):
    """Sends recognize requests in a loop, recording failures (the server must never drop one)."""

    def __init__(self, client, model="kws"):
        super().__init__(daemon=True)
        self.client, self.model = client, model
        self.ok, self.failures, self.versions = 0, [], set()
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                self.client.recognize(self.model, X[0])
                self.ok += 1
            except Exception as exc:
                self.failures.append(repr(exc))
            time.sleep(0.005)


@pytest.fixture(scope="module")
def second_task():
    return make_kws_task(seed=1)


def test_hot_swap_and_broken_version(model_root, kws_task, second_task, tmp_path):
    from serving.client import Client
    from serving.server import ModelServer

    base = tmp_path / "kws"
    shutil.copytree(model_root / "kws" / "1", base / "1")
    srv = ModelServer([ModelConfig("kws", str(base))], port=0, rest_api_port=None, poll_wait_seconds=0.1).start()
    client = Client(srv.target)
    hammer = Hammer(client)
    hammer.start()
    try:
        np.testing.assert_allclose(client.recognize("kws", X[0])[0]["scores"], kws_task(X).numpy()[0], atol=1e-5)
        export_kws(second_task, tmp_path, 2)
        assert _wait(lambda: [s["state"] for s in client.status("kws")] == ["END", "AVAILABLE"])
        np.testing.assert_allclose(client.recognize("kws", X[0])[0]["scores"], second_task(X).numpy()[0], atol=1e-5)
        # A broken version 3 is refused; version 2 keeps serving.
        (base / ".tmp3").mkdir()
        (base / ".tmp3" / "saved_model.pb").write_bytes(b"not a saved model")
        os.replace(base / ".tmp3", base / "3")
        assert _wait(lambda: any(s["version"] == 3 and s["state"] == "END" for s in client.status("kws")))
        status = {s["version"]: s for s in client.status("kws")}
        assert status[2]["state"] == "AVAILABLE" and "failed to load" in status[3]["error_message"]
        np.testing.assert_allclose(client.recognize("kws", X[0])[0]["scores"], second_task(X).numpy()[0], atol=1e-5)
        assert 'event="load_failed"' in srv.metrics.render()
    finally:
        hammer.stop.set()
        hammer.join()
        srv.stop(5)
    assert hammer.ok > 10 and hammer.failures == []


def test_reload_config_and_policies(model_root, kws_task, tmp_path):
    from serving.client import Client
    from serving.server import ModelServer

    base = tmp_path / "kws"
    for v in (1, 2, 3):
        shutil.copytree(model_root / "kws" / "1", base / str(v))
    srv = ModelServer([ModelConfig("kws", str(base), policy="specific", versions=(1, 3), labels={"stable": 1})],
                      port=0, rest_api_port=None, poll_wait_seconds=0).start()
    # a reload answers once the new SavedModels are loaded: beyond the 10 s default on a busy 2-core machine
    client = Client(srv.target, timeout=60.0)
    try:
        assert [(s["version"], s["state"]) for s in client.status("kws")] == [(1, "AVAILABLE"), (3, "AVAILABLE")]
        assert client.predict("kws", {"waveform": X, "waveform_length": np.array([16000], np.int32)},
                              label="stable", signature="recognize")["scores"].shape == (1, 12)
        client.reload(f'model_config_list {{ config {{ name: "kws" base_path: "{base}" '
                      f'model_version_policy {{ latest {{ num_versions: 2 }} }} }} '
                      f'config {{ name: "sep" base_path: "{model_root / "sep"}" }} }}')
        states = {s["version"]: s["state"] for s in client.status("kws")}
        assert states == {1: "END", 2: "AVAILABLE", 3: "AVAILABLE"}
        assert client.status("sep")[0]["state"] == "AVAILABLE"
        client.reload(f'model_config_list {{ config {{ name: "sep" base_path: "{model_root / "sep"}" }} }}')
        with pytest.raises(ServingError) as err:
            client.status("kws")
        assert err.value.code == "NOT_FOUND"
    finally:
        srv.stop(5)


def test_batcher_batches_and_splits():
    calls = []

    def run(inputs):
        calls.append(inputs["x"].shape[0])
        time.sleep(0.01)
        return {"y": inputs["x"] * 2, "scalar": np.float32(3)}

    b = Batcher(run, BatchingParameters(max_batch_size=8, batch_timeout_micros=50_000, num_batch_threads=1,
                                        allowed_batch_sizes=(4, 8)))
    results = {}

    def go(i):
        results[i] = b.submit({"x": np.full((1, 3), i, np.float32)}, None)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    b.close()
    assert all(np.array_equal(results[i]["y"], np.full((1, 3), 2 * i)) and results[i]["scalar"] == 3 for i in range(6))
    assert max(b.batch_sizes) > 1 and all(c in (4, 8) for c in calls)  # padded to an allowed size


def test_batcher_full_queue_and_deadline():
    started = threading.Event()
    release = threading.Event()
    ran = []

    def run(inputs):
        started.set()
        ran.append(float(inputs["x"][0, 0]))
        release.wait(5)
        return {"y": inputs["x"]}

    b = Batcher(run, BatchingParameters(max_batch_size=1, batch_timeout_micros=0, max_enqueued_batches=1,
                                        num_batch_threads=1))
    errors = []
    t0 = threading.Thread(target=lambda: b.submit({"x": np.zeros((1, 1), np.float32)}, None))
    t0.start()
    assert started.wait(5)  # the worker is busy with request 0
    late = threading.Thread(target=lambda: errors.append(_code(b, 1.0, time.monotonic() + 0.05)))
    late.start()
    time.sleep(0.02)
    errors.append(_code(b, 2.0, None))  # queue (1 row) is full -> UNAVAILABLE
    late.join()
    release.set()
    t0.join()
    b.close()
    assert sorted(errors) == ["DEADLINE_EXCEEDED", "UNAVAILABLE"]
    assert ran == [0.0]  # the expired request never ran


def _code(b, value, deadline):
    try:
        b.submit({"x": np.full((1, 1), value, np.float32)}, deadline)
    except ServingError as exc:
        return exc.code
    return "OK"


def test_batched_server_matches_unbatched(model_root, kws_task):
    from serving.client import Client
    from serving.server import ModelServer

    srv = ModelServer([ModelConfig("kws", str(model_root / "kws"))], port=0, rest_api_port=None, poll_wait_seconds=0,
                      batching=BatchingParameters(max_batch_size=8, batch_timeout_micros=20_000)).start()
    client = Client(srv.target)
    rng = np.random.default_rng(3)
    xs = (0.2 * rng.standard_normal((8, 16000))).astype(np.float32)
    out = [None] * 8
    threads = [threading.Thread(target=lambda i=i: out.__setitem__(i, client.recognize("kws", xs[i])[0]))
               for i in range(8)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        np.testing.assert_allclose(np.stack([o["scores"] for o in out]), kws_task(xs).numpy(), atol=1e-5)
        batcher = srv.manager.resolve("kws")._batchers["recognize"]
        assert max(batcher.batch_sizes) > 1
        # A call without a deadline (gRPC reports ~infinite time remaining) is served, not INTERNAL
        import grpc
        from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

        from serving.tensors import ndarray_to_proto, proto_to_ndarray

        req = predict_pb2.PredictRequest()
        req.model_spec.name, req.model_spec.signature_name = "kws", "recognize"
        ndarray_to_proto(xs[:1], req.inputs["waveform"])
        ndarray_to_proto(np.array([16000], np.int32), req.inputs["waveform_length"])
        with grpc.insecure_channel(srv.target) as channel:
            resp = prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(req)
        np.testing.assert_allclose(proto_to_ndarray(resp.outputs["scores"], "scores", 100), out[0]["scores"][None],
                                   atol=1e-5)
    finally:
        srv.stop(5)


def test_grpc_deadline_passed_in_the_batch_queue_runs_nothing(model_root):
    """A request whose deadline passes while it waits for a batch gets DEADLINE_EXCEEDED, and the
    model never runs it; the next request is served."""
    import grpc
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    from serving.server import ModelServer
    from serving.tensors import ndarray_to_proto

    srv = ModelServer([ModelConfig("kws", str(model_root / "kws"))], port=0, rest_api_port=None, poll_wait_seconds=0,
                      batching=BatchingParameters(max_batch_size=64, batch_timeout_micros=600_000)).start()
    req = predict_pb2.PredictRequest()
    req.model_spec.name, req.model_spec.signature_name = "kws", "recognize"
    ndarray_to_proto(X[:1], req.inputs["waveform"])
    ndarray_to_proto(np.array([X.shape[1]], np.int32), req.inputs["waveform_length"])
    try:
        with grpc.insecure_channel(srv.target) as channel:
            stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            with pytest.raises(grpc.RpcError) as err:
                stub.Predict(req, timeout=0.15)
            assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
            time.sleep(0.8)  # the batch window of the expired request closed
            batcher = srv.manager.resolve("kws")._batchers["recognize"]
            assert batcher.batches_run == 0
            assert stub.Predict(req, timeout=5).outputs["scores"].tensor_shape.dim[0].size == 1
            assert batcher.batches_run == 1
    finally:
        srv.stop(5)


def test_client_retries_unavailable(model_root):
    """The client retries UNAVAILABLE while a server comes up on its port."""
    from serving.client import Client
    from serving.server import ModelServer

    port = free_port()
    client = Client(f"127.0.0.1:{port}", timeout=30, retries=30, backoff_s=0.05)
    srv = ModelServer([ModelConfig("kws", str(model_root / "kws"))], port=port, rest_api_port=None, poll_wait_seconds=0)
    threading.Timer(0.3, srv.start).start()
    try:
        assert client.recognize("kws", X[0])[0]["label"]
    finally:
        _wait(lambda: srv._grpc is not None)
        srv.stop(5)


def test_sigterm_drains_in_flight_requests(model_root, tmp_path):
    from serving.client import Client

    params = tmp_path / "batching.txt"
    params.write_text(BatchingParameters(max_batch_size=64, batch_timeout_micros=1_000_000).to_text())
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.Popen([sys.executable, "-m", "serving", "--model_name", "kws", "--model_base_path",
                             str(model_root / "kws"), "--port", str(port), "--rest_api_port", "0",
                             "--enable_batching", "--batching_parameters_file", str(params),
                             "--tensorflow_intra_op_parallelism", "1", "--tensorflow_inter_op_parallelism", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)
    try:
        line = proc.stdout.readline()
        assert line.startswith("ready"), line
        client = Client(f"127.0.0.1:{port}", timeout=20, retries=0)
        client.metadata("kws")
        results = []
        threads = [threading.Thread(target=lambda: results.append(_try(client))) for _ in range(6)]
        for t in threads:
            t.start()
        time.sleep(0.3)  # all six are queued in the 1 s batch window
        proc.send_signal(signal.SIGTERM)
        for t in threads:
            t.join()
        assert results == ["OK"] * 6
        assert proc.wait(30) == 0 and "stopped" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_drain_waits_for_clients_to_go_quiet(model_root):
    """While draining, calls get UNAVAILABLE and health says NOT_SERVING; the transport stops only after
    clients have been quiet for quiet_s (grpc.aio would answer CANCELLED to calls it holds at stop)."""
    from serving.client import Client
    from serving.server import ModelServer

    srv = ModelServer([ModelConfig("kws", str(model_root / "kws"))], port=0, rest_api_port=None,
                      poll_wait_seconds=0).start()
    client = Client(srv.target, timeout=5, retries=0)
    assert client.recognize("kws", X[0])[0]["label"]
    # quiet_s 1.0 with calls about 0.1 s apart: a margin for a loaded CI machine, where one call took 0.4 s
    stopper = threading.Thread(target=srv.stop, args=(10.0, 1.0))
    stopper.start()
    codes = []
    for _ in range(8):  # about 0.8 s of traffic, never 1 s apart
        codes.append(_try(client))
        assert not srv.wait(0), "the transport stopped while clients were still sending"
        time.sleep(0.1)
    assert set(codes) == {"UNAVAILABLE"}, codes
    assert client.health() is False
    quiet_from = time.monotonic()
    stopper.join(10)
    assert srv.wait(0) and 0.8 < time.monotonic() - quiet_from < 3.0


def _try(client):
    try:
        client.recognize("kws", X[0])
        return "OK"
    except ServingError as exc:
        return exc.code


def test_tensorflow_thread_flags_are_checked():
    """Negative counts are refused; resizing after TensorFlow started says how to fix it."""
    import tensorflow as tf

    from serving.server import configure_tensorflow_threads
    from zoo.errors import ConfigError

    with pytest.raises(ConfigError, match="tensorflow_intra_op_parallelism"):
        configure_tensorflow_threads(-1, 0)
    configure_tensorflow_threads(0, 0)  # TensorFlow's choice: nothing to set
    tf.constant(1.0) + 1.0  # the runtime is up in this process
    current = tf.config.threading.get_intra_op_parallelism_threads()
    with pytest.raises(ConfigError, match="before loading any model"):
        configure_tensorflow_threads(current + 3, 0)
