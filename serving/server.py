"""ModelServer: the TF-Serving-compatible server (gRPC PredictionService + ModelService + health,
REST API, polling, batching, metrics). `python -m serving` / `zoo serve` take tensorflow_model_server's
flags. Binds 127.0.0.1 unless --host says otherwise; SIGTERM drains in-flight requests."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import threading
import time
from concurrent import futures

from serving.config import ModelConfig, read_batching_parameters_file, read_model_config_file, BatchingParameters
from serving.errors import ServingError
from serving.metrics import Metrics
from serving.model_manager import ModelManager

log = logging.getLogger("serving")
DEFAULT_MAX_MESSAGE_BYTES = 64 << 20
DRAIN_QUIET_S = 0.5  # on SIGTERM, stop once clients have sent nothing for this long (ModelServer.stop)


class ModelServer:
    """`port=0` picks a free gRPC port; `rest_api_port=None` disables REST, 0 picks a free port."""

    def __init__(self, models: list[ModelConfig], *, host: str = "127.0.0.1", port: int = 8500,
                 rest_api_port: int | None = 8501, poll_wait_seconds: float = 1.0,
                 batching: BatchingParameters | None = None, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
                 max_concurrent_requests: int = 64, grpc_threads: int = 16, rest_timeout_s: float = 30.0):
        self.models = list(models)
        self.host, self.port, self.rest_api_port = host, port, rest_api_port
        self.poll_wait_seconds = poll_wait_seconds
        self.max_message_bytes = int(max_message_bytes)
        self.max_elements = self.max_message_bytes // 4  # a float32 tensor can be no longer than the message
        self.max_concurrent_requests = max_concurrent_requests
        self.grpc_threads = grpc_threads
        self.rest_timeout_s = rest_timeout_s
        self.metrics = Metrics()
        self.manager = ModelManager(batching=batching, max_elements=self.max_elements,
                                    on_event=lambda ev, model, version: self.metrics.event(ev, model, version))
        self.draining = False
        self.last_request_at = time.monotonic()  # the latest gRPC/REST call (not health probes); see stop()
        self._grpc = None  # grpc.aio server, running on self._loop in its own thread
        self._loop = self._loop_thread = self._executor = None
        self._rest = None
        self._stopped = threading.Event()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "ModelServer":
        self.manager.set_config(self.models)
        self.manager.start_polling(self.poll_wait_seconds)
        self._executor = futures.ThreadPoolExecutor(max_workers=self.grpc_threads, thread_name_prefix="predict")
        self._loop = asyncio.new_event_loop()
        self._loop_thread = threading.Thread(target=self._loop.run_forever, name="grpc-loop", daemon=True)
        self._loop_thread.start()
        try:
            self.port = asyncio.run_coroutine_threadsafe(self._start_grpc(), self._loop).result(60)
        except BaseException:
            self._close_loop()
            self.manager.stop()
            raise
        if self.rest_api_port is not None:
            from serving.rest_api import RestApi

            self._rest = RestApi(self, self.host, self.rest_api_port, max_body_bytes=self.max_message_bytes,
                                 timeout_s=self.rest_timeout_s, max_concurrent=self.max_concurrent_requests)
            self.rest_api_port = self._rest.port
            self._rest.start()
        log.info("serving %s: gRPC %s:%d, REST %s", ", ".join(self.manager.model_names()), self.host, self.port,
                 f"{self.host}:{self.rest_api_port}" if self._rest else "off")
        return self

    async def _start_grpc(self) -> int:
        import grpc

        from serving.grpc_api import GrpcApi

        options = [("grpc.max_receive_message_length", self.max_message_bytes),
                   ("grpc.max_send_message_length", self.max_message_bytes),
                   ("grpc.so_reuseport", 0)]
        server = grpc.aio.server(options=options, maximum_concurrent_rpcs=self.max_concurrent_requests)
        server.add_generic_rpc_handlers(GrpcApi(self).handlers())
        try:
            bound = server.add_insecure_port(f"{self.host}:{self.port}")
        except RuntimeError:  # grpc.aio raises where the sync server returned 0
            bound = 0
        if not bound:
            raise ServingError("UNAVAILABLE", f"cannot bind gRPC to {self.host}:{self.port}", fix="pick a free --port")
        await server.start()
        self._grpc = server
        return bound

    def _close_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._loop_thread.join(10)
        self._executor.shutdown(wait=True)

    def stop(self, grace_s: float = 30.0, quiet_s: float = 0.0) -> None:
        """Refuse new requests, let in-flight ones finish (up to grace_s), then unload every model.

        With quiet_s > 0 (SIGTERM) the transport stays up, answering UNAVAILABLE and reporting
        NOT_SERVING, until no call has arrived for quiet_s (at most half of grace_s): grpc.aio answers
        CANCELLED, not UNAVAILABLE, to calls its transport holds but has not yet handed to a handler
        when it stops (grpc/grpc#41785), so stopping while clients still send fails a few of them."""
        if self._stopped.is_set():
            return
        self.draining = True
        started = time.monotonic()
        if quiet_s > 0:
            while (time.monotonic() - self.last_request_at < quiet_s
                   and time.monotonic() - started < grace_s / 2):
                time.sleep(min(quiet_s, 0.05))
            log.info("draining: clients quiet after %.2f s", time.monotonic() - started)
        grace_s = max(grace_s - (time.monotonic() - started), 0.0)
        grpc_done = None
        if self._grpc is not None:
            grpc_done = asyncio.run_coroutine_threadsafe(self._grpc.stop(grace_s), self._loop)
        if self._rest is not None:
            self._rest.stop(grace_s)
        try:
            if grpc_done is not None:
                grpc_done.result(grace_s + 5)
        finally:
            if self._loop is not None:
                self._close_loop()
            self.manager.stop()
            self._stopped.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._stopped.wait(timeout)

    def install_signal_handlers(self, grace_s: float = 30.0, quiet_s: float = DRAIN_QUIET_S) -> None:
        def handler(signum, frame):
            log.info("signal %d: draining", signum)
            threading.Thread(target=self.stop, args=(grace_s, quiet_s), name="drain", daemon=True).start()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def reload(self, models: list[ModelConfig]) -> None:
        self.models = list(models)
        self.manager.set_config(self.models)

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port}"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop(5.0)

    # ------------------------------------------------------------------ the one predict path (gRPC and REST)
    def _route(self, name, version, label, signature, output_filter, servable):
        if self.draining:
            raise ServingError("UNAVAILABLE", "the server is shutting down", fix="retry on another replica")
        if not name:
            raise ServingError("INVALID_ARGUMENT", "model_spec.name is empty")
        if servable is None:
            servable = self.manager.resolve(name, version, label)
        signature = signature or "serving_default"
        spec = servable.signature_spec(signature)
        unknown = [o for o in output_filter if o not in spec["outputs"]]
        if unknown:
            raise ServingError("INVALID_ARGUMENT", "output_filter names unknown outputs", received=unknown,
                               expected=spec["outputs"])
        if len(set(output_filter)) != len(output_filter):
            raise ServingError("INVALID_ARGUMENT", "output_filter repeats a name", received=list(output_filter))
        return servable, signature

    def predict(self, name, version, label, signature, inputs, output_filter, deadline, *, servable=None):
        servable, signature = self._route(name, version, label, signature, output_filter, servable)
        outputs = servable.predict(signature, inputs, deadline=deadline)
        return servable, signature, _filtered(outputs, output_filter)

    async def predict_async(self, name, version, label, signature, inputs, output_filter, deadline):
        servable, signature = self._route(name, version, label, signature, output_filter, None)
        outputs = await servable.predict_async(signature, inputs, deadline=deadline, executor=self._executor)
        return servable, signature, _filtered(outputs, output_filter)


def _filtered(outputs: dict, output_filter) -> dict:
    return {k: outputs[k] for k in output_filter} if output_filter else outputs


# ----------------------------------------------------------------------------- command line
def _bool(value) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("1", "true", "yes"):
        return True
    if str(value).lower() in ("0", "false", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {value!r}")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """tensorflow_model_server's flag names (plus --host), so the same command line works on both."""
    p.add_argument("--port", type=int, default=8500, help="gRPC port")
    p.add_argument("--rest_api_port", type=int, default=8501, help="REST port; 0 disables REST (as TF Serving)")
    p.add_argument("--host", default="127.0.0.1", help="bind address (TF Serving binds 0.0.0.0; here loopback)")
    p.add_argument("--model_name", default="default")
    p.add_argument("--model_base_path", help="one model's base path (alternative to --model_config_file)")
    p.add_argument("--model_config_file", help="text ModelServerConfig (models.config)")
    p.add_argument("--file_system_poll_wait_seconds", type=float, default=1.0,
                   help="seconds between version polls of every base_path; 0 disables polling")
    p.add_argument("--enable_batching", type=_bool, nargs="?", const=True, default=False)
    p.add_argument("--batching_parameters_file", help="text BatchingParameters")
    p.add_argument("--max_message_bytes", type=int, default=DEFAULT_MAX_MESSAGE_BYTES,
                   help="largest gRPC message / REST body accepted")
    p.add_argument("--max_concurrent_requests", type=int, default=64)
    p.add_argument("--grpc_max_threads", type=int, default=16,
                   help="threads running unbatched model calls (batched ones run on the batch threads)")
    p.add_argument("--rest_api_timeout_in_ms", type=int, default=30000)
    p.add_argument("--drain_seconds", type=float, default=30.0,
                   help=f"SIGTERM grace: answer UNAVAILABLE until clients have been quiet for {DRAIN_QUIET_S} s "
                   "(at most half of this), then let in-flight requests finish")
    p.add_argument("--tensorflow_intra_op_parallelism", type=int, default=0,
                   help="threads inside one TF op; 0 lets TensorFlow choose (as TF Serving). 1 suits small models "
                        "under concurrent load: requests run in parallel instead of sharing a spinning pool")
    p.add_argument("--tensorflow_inter_op_parallelism", type=int, default=0,
                   help="threads running independent TF ops; 0 lets TensorFlow choose (as TF Serving)")


def configure_tensorflow_threads(intra_op: int = 0, inter_op: int = 0) -> None:
    """Size TensorFlow's thread pools (0 keeps TensorFlow's choice). Must run before TensorFlow runs any op."""
    from zoo.errors import ConfigError

    for flag, value in (("tensorflow_intra_op_parallelism", intra_op), ("tensorflow_inter_op_parallelism", inter_op)):
        if value < 0:
            raise ConfigError(f"--{flag} must be 0 (TensorFlow's choice) or a thread count", received=value)
    if not intra_op and not inter_op:
        return
    import tensorflow as tf

    try:
        if intra_op:
            tf.config.threading.set_intra_op_parallelism_threads(intra_op)
        if inter_op:
            tf.config.threading.set_inter_op_parallelism_threads(inter_op)
    except RuntimeError as exc:  # TensorFlow already initialized its runtime in this process
        raise ConfigError("TensorFlow's thread pools can no longer be resized in this process",
                          received=str(exc), fix="set them before loading any model (a fresh `zoo serve`)") from None


def server_from_args(args) -> ModelServer:
    from zoo.errors import ConfigError

    if bool(args.model_config_file) == bool(args.model_base_path):
        raise ConfigError("pass exactly one of --model_config_file or --model_base_path",
                          received=f"model_config_file={args.model_config_file} model_base_path={args.model_base_path}")
    if args.model_config_file:
        models = read_model_config_file(args.model_config_file)
    else:
        from pathlib import Path

        models = [ModelConfig(name=args.model_name, base_path=str(Path(args.model_base_path).resolve()))]
    batching = None
    if args.enable_batching:
        batching = (read_batching_parameters_file(args.batching_parameters_file)
                    if args.batching_parameters_file else BatchingParameters())
    return ModelServer(models, host=args.host, port=args.port,
                       rest_api_port=args.rest_api_port or None, poll_wait_seconds=args.file_system_poll_wait_seconds,
                       batching=batching, max_message_bytes=args.max_message_bytes,
                       max_concurrent_requests=args.max_concurrent_requests, grpc_threads=args.grpc_max_threads,
                       rest_timeout_s=args.rest_api_timeout_in_ms / 1000)


def serve(args) -> int:
    """Run until SIGTERM/SIGINT; prints one `ready` line with the bound ports."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    configure_tensorflow_threads(args.tensorflow_intra_op_parallelism, args.tensorflow_inter_op_parallelism)
    server = server_from_args(args)
    server.install_signal_handlers(args.drain_seconds)
    server.start()
    print(f"ready grpc={server.host}:{server.port} rest={server.rest_api_port or 'off'} "
          f"models={','.join(server.manager.model_names())}", flush=True)
    while not server.wait(0.5):
        pass
    print("stopped", flush=True)
    return 0


def main(argv=None) -> int:
    import sys

    from zoo.errors import ZooError

    parser = argparse.ArgumentParser(prog="zoo serve", description="TF-Serving-compatible model server")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return serve(args)
    except ZooError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
