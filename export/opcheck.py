"""Prove that a SavedModel uses only core TensorFlow ops, so a stock tensorflow_model_server loads it.

Reads saved_model.pb directly (nothing is executed), lists every op of the main graph and of every
function in its library, and checks each against TensorFlow's op registry. Function calls resolve
to library functions; ops that are registered but need a Python interpreter (py_function) count as
offenders, since a server has none.

    python -m export.opcheck EXPORT_DIR [--json]     # exit 1 and list offenders if any
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from zoo.errors import ExportError

# Registered in the Python TF runtime, but they call back into Python: no server can run them.
PYTHON_OPS = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc"})


@dataclass
class OpReport:
    path: str
    ops: dict = field(default_factory=dict)  # op name -> count over all graphs and functions
    functions: list = field(default_factory=list)  # library function names
    offenders: dict = field(default_factory=dict)  # op name -> [where it occurs]

    @property
    def ok(self) -> bool:
        return not self.offenders

    def to_json(self) -> dict:
        return {"path": self.path, "ok": self.ok, "num_ops": len(self.ops), "ops": self.ops,
                "num_functions": len(self.functions), "offenders": self.offenders}

    def summary(self) -> str:
        head = f"{self.path}: {len(self.ops)} distinct ops in {len(self.functions)} functions"
        if self.ok:
            return head + ", all registered core TensorFlow ops"
        return head + "; NOT core: " + ", ".join(f"{op} (in {', '.join(sorted(set(w))[:3])})"
                                                   for op, w in sorted(self.offenders.items()))


def _read_saved_model(path: Path):
    from tensorflow.core.protobuf import saved_model_pb2

    pb = path / "saved_model.pb"
    if not pb.is_file():
        raise ExportError("no saved_model.pb in the folder", received=str(path),
                          expected="a SavedModel version folder (<base>/<model>/<version>/)")
    proto = saved_model_pb2.SavedModel()
    try:
        proto.ParseFromString(pb.read_bytes())
    except Exception as exc:  # protobuf's DecodeError; any parse failure means a corrupt file
        raise ExportError("saved_model.pb cannot be parsed", received=str(exc)[:200],
                          fix="re-export the model") from None
    return proto


def graph_ops(graph_def, where_main="graph"):
    """Yield (op name, location) for the graph and every library function, and the function names."""
    functions = {f.signature.name for f in graph_def.library.function}
    for node in graph_def.node:
        yield node.op, where_main, functions
    for fn in graph_def.library.function:
        for node in fn.node_def:
            yield node.op, fn.signature.name, functions


def check_graph_defs(graph_defs, path: str = "<graph>", *, raise_on_error: bool = True) -> OpReport:
    from tensorflow.python.framework import op_def_registry

    report = OpReport(path=path)
    counts = Counter()
    fn_names = set()
    for i, graph_def in enumerate(graph_defs):
        for op, where, functions in graph_ops(graph_def, f"meta_graph[{i}]"):
            fn_names |= functions
            if op in functions:  # a call of a library function, checked where it is defined
                continue
            counts[op] += 1
            if op in PYTHON_OPS or op_def_registry.get(op) is None:
                report.offenders.setdefault(op, []).append(where)
    report.ops = dict(sorted(counts.items()))
    report.functions = sorted(fn_names)
    if raise_on_error and not report.ok:
        raise ExportError(
            "the exported graph contains ops that a stock TensorFlow Serving cannot run",
            received=report.summary(),
            expected="registered core TensorFlow ops only",
            fix="replace custom / Python ops (tf.py_function, tensorflow-io, tf.load_op_library) with core TF ops "
                "or do that work before the graph (DESIGN.md 5)")
    return report


def check_saved_model(path, *, raise_on_error: bool = True) -> OpReport:
    """Check every op in every function of the SavedModel at `path`; raise ExportError listing offenders."""
    path = Path(path)
    proto = _read_saved_model(path)
    return check_graph_defs([mg.graph_def for mg in proto.meta_graphs], str(path), raise_on_error=raise_on_error)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m export.opcheck", description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", help="SavedModel version folders")
    parser.add_argument("--json", action="store_true", help="print the full report as JSON")
    args = parser.parse_args(argv)
    status = 0
    for path in args.paths:
        try:
            report = check_saved_model(path, raise_on_error=False)
        except ExportError as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = 2
            continue
        print(json.dumps(report.to_json(), indent=1) if args.json else report.summary())
        status = max(status, 0 if report.ok else 1)
    return status


if __name__ == "__main__":
    sys.exit(main())
