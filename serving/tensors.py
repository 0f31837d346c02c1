"""TensorProto <-> numpy without tf.make_tensor_proto / tf.make_ndarray (they cost ~50 us each),
with the checks a server needs before allocating anything: dtype known, dims non-negative, element
count bounded, content size consistent. Also TF Serving's REST JSON encoding of tensors."""

from __future__ import annotations

import base64
import math

import numpy as np

from serving.errors import ServingError

# tensorflow DataType enum -> (numpy dtype, TensorProto *_val field)
DTYPES = {1: (np.float32, "float_val"), 2: (np.float64, "double_val"), 3: (np.int32, "int_val"),
          4: (np.uint8, "int_val"), 5: (np.int16, "int_val"), 6: (np.int8, "int_val"), 7: (object, "string_val"),
          9: (np.int64, "int64_val"), 10: (np.bool_, "bool_val"), 17: (np.uint16, "int_val"),
          19: (np.float16, "half_val"), 22: (np.uint32, "uint32_val"), 23: (np.uint64, "uint64_val")}
DTYPE_NAMES = {1: "float32", 2: "float64", 3: "int32", 4: "uint8", 5: "int16", 6: "int8", 7: "string", 9: "int64",
               10: "bool", 17: "uint16", 19: "float16", 22: "uint32", 23: "uint64"}
ENUM_OF = {"float32": 1, "float64": 2, "int32": 3, "uint8": 4, "int16": 5, "int8": 6, "string": 7, "int64": 9,
           "bool": 10, "uint16": 17, "float16": 19, "uint32": 22, "uint64": 23}


# Wire byte order of tensor_content, per DataType enum; dtype -> name. Both looked up per request,
# where numpy's dtype constructors and its .name property cost microseconds each.
_LITTLE_ENDIAN = {enum: np.dtype(t).newbyteorder("<") for enum, (t, _) in DTYPES.items() if t is not object}
_NAME_OF = {np.dtype(t): name for name, enum in ENUM_OF.items() for t in [DTYPES[enum][0]] if t is not object}


def dtype_name(arr: np.ndarray) -> str:
    name = _NAME_OF.get(arr.dtype)
    if name is not None:
        return name
    return "string" if arr.dtype == object or arr.dtype.kind in "SU" else arr.dtype.name


def proto_to_ndarray(proto, name: str, max_elements: int) -> np.ndarray:
    """A request TensorProto -> ndarray, or ServingError(INVALID_ARGUMENT / RESOURCE_EXHAUSTED)."""
    if proto.dtype not in DTYPES:
        raise ServingError("INVALID_ARGUMENT", f"input {name!r} has an unsupported dtype",
                           received=f"DataType enum {proto.dtype}", expected=", ".join(sorted(ENUM_OF)))
    np_dtype, field = DTYPES[proto.dtype]
    if proto.tensor_shape.unknown_rank:
        raise ServingError("INVALID_ARGUMENT", f"input {name!r} has an unknown rank", fix="set tensor_shape dims")
    shape = tuple(int(d.size) for d in proto.tensor_shape.dim)
    if any(d < 0 for d in shape):
        raise ServingError("INVALID_ARGUMENT", f"input {name!r} has a negative dimension", received=list(shape))
    n = math.prod(shape)
    if n > max_elements:
        raise ServingError("RESOURCE_EXHAUSTED", f"input {name!r} is too large", received=f"{n} elements",
                           expected=f"at most {max_elements}", fix="split the request")
    if np_dtype is object:
        values = list(proto.string_val)
        if len(values) == n:
            return np.array(values, dtype=object).reshape(shape)
        if len(values) == 1:
            return np.full(shape, values[0], dtype=object)
        raise ServingError("INVALID_ARGUMENT", f"input {name!r}: value count does not match its shape",
                           received=f"{len(values)} strings", expected=f"{n} for shape {list(shape)}")
    content = proto.tensor_content
    if content:
        wire = _LITTLE_ENDIAN[proto.dtype]
        if len(content) != n * wire.itemsize:
            raise ServingError("INVALID_ARGUMENT", f"input {name!r}: tensor_content size does not match its shape",
                               received=f"{len(content)} bytes",
                               expected=f"{n * wire.itemsize} bytes for {DTYPE_NAMES[proto.dtype]}{list(shape)}")
        return np.frombuffer(content, dtype=wire).reshape(shape)
    values = getattr(proto, field)
    if proto.dtype == 19:  # half_val holds the float16 bit patterns
        arr = np.array(values, np.uint16).view(np.float16)
    else:
        arr = np.array(values, dtype=np_dtype)
    if arr.size == n:
        return arr.reshape(shape)
    if arr.size == 1:
        return np.full(shape, arr[0], dtype=np_dtype)
    raise ServingError("INVALID_ARGUMENT", f"input {name!r}: value count does not match its shape",
                       received=f"{arr.size} values", expected=f"{n} for shape {list(shape)}")


def ndarray_to_proto(arr, proto) -> None:
    """Fill a TensorProto (in place: gRPC map entries cannot be assigned) from an ndarray."""
    arr = np.asarray(arr)
    name = dtype_name(arr)
    if name not in ENUM_OF:
        raise ServingError("INTERNAL", f"cannot encode an output of dtype {arr.dtype}")
    proto.dtype = ENUM_OF[name]
    for d in arr.shape:
        proto.tensor_shape.dim.add().size = int(d)
    if name == "string":
        proto.string_val.extend(v if isinstance(v, bytes) else str(v).encode() for v in arr.reshape(-1))
    else:
        proto.tensor_content = np.ascontiguousarray(arr, dtype=_LITTLE_ENDIAN[proto.dtype]).tobytes()


# ----------------------------------------------------------------------------- REST JSON
def _decode_json_value(value, name):
    """JSON -> nested python lists with bytes for {"b64": ...} (TF Serving's binary encoding)."""
    if isinstance(value, dict):
        if set(value) != {"b64"} or not isinstance(value["b64"], str):
            raise ServingError("INVALID_ARGUMENT", f"input {name!r}: objects inside tensors must be {{\"b64\": str}}",
                               received=sorted(value)[:5])
        try:
            return base64.b64decode(value["b64"], validate=True)
        except ValueError:
            raise ServingError("INVALID_ARGUMENT", f"input {name!r}: invalid base64 in a b64 value") from None
    if isinstance(value, list):
        return [_decode_json_value(v, name) for v in value]
    if isinstance(value, str):
        return value.encode()
    return value


def json_to_ndarray(value, name: str, dtype: str, max_elements: int) -> np.ndarray:
    """A JSON tensor (nested lists) -> ndarray of the signature's dtype; ragged or mistyped -> INVALID_ARGUMENT."""
    value = _decode_json_value(value, name)
    if dtype == "string":
        try:
            arr = np.array(value, dtype=object)
        except ValueError:
            raise ServingError("INVALID_ARGUMENT", f"input {name!r} is ragged", fix="every row must have the same length") from None
        if arr.size > max_elements:
            raise ServingError("RESOURCE_EXHAUSTED", f"input {name!r} is too large", received=f"{arr.size} elements")
        if arr.size and not all(isinstance(v, bytes) for v in arr.reshape(-1)):
            raise ServingError("INVALID_ARGUMENT", f"input {name!r} must hold strings", received="numbers or lists")
        return arr
    try:
        arr = np.array(value)
    except ValueError:
        raise ServingError("INVALID_ARGUMENT", f"input {name!r} is ragged", fix="every row must have the same length") from None
    if arr.size > max_elements:
        raise ServingError("RESOURCE_EXHAUSTED", f"input {name!r} is too large", received=f"{arr.size} elements",
                           expected=f"at most {max_elements}")
    if arr.size == 0:
        return arr.astype(dtype)  # validation reports "empty" with the shape
    if arr.dtype == object or arr.dtype.kind not in "biuf" or (arr.dtype.kind == "b" and dtype != "bool"):
        raise ServingError("INVALID_ARGUMENT", f"input {name!r} must hold {dtype} numbers",
                           received=f"JSON of {arr.dtype.kind!r} kind" if arr.dtype != object else "mixed/ragged values")
    if dtype.startswith("int") or dtype.startswith("uint"):
        if arr.dtype.kind == "f":
            raise ServingError("INVALID_ARGUMENT", f"input {name!r} must hold integers", received="fractional numbers")
        info = np.iinfo(dtype)
        if arr.size and (arr.min() < info.min or arr.max() > info.max):
            raise ServingError("INVALID_ARGUMENT", f"input {name!r} has values outside {dtype}")
    return arr.astype(dtype)


def ndarray_to_json(arr: np.ndarray, name: str):
    """Output tensor -> JSON value. Strings stay text when UTF-8, else (and for *_bytes outputs) {"b64"}."""
    if dtype_name(arr) != "string":
        return arr.tolist()

    def enc(v):
        if isinstance(v, str):
            return v
        if not name.endswith("_bytes"):
            try:
                return v.decode("utf-8")
            except UnicodeDecodeError:
                pass
        return {"b64": base64.b64encode(v).decode()}

    return np.vectorize(enc, otypes=[object])(arr).tolist() if arr.size else arr.tolist()
