"""Whole maps as numpy arrays and pandas data frames (:meth:`KeyValueMap.to_numpy`,
:meth:`KeyValueMap.to_pandas`), for notebooks.

Entries are read like :meth:`KeyValueMap.items` (in batches where the kernel can).  Each
codec names a numpy dtype (``Codec.numpy_dtype``); when it is *exact* (ints, byte arrays,
BTF structs without bitfields, ctypes and numpy types) the raw bytes become the array as they
are, otherwise every key or value is decoded first.  numpy and pandas are optional: without
them these raise :class:`MissingDependency`.

Example::

    keys, values = flows.to_numpy()             # struct keys and values -> structured arrays
    print(values["packets"].sum())
    df = flows.to_pandas()                      # index: key members; columns: value members
    print(df.nlargest(5, "bytes"))
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import MissingDependency
from .btf_codec import BtfStruct

if TYPE_CHECKING:
    from .base import KeyValueMap
    from .codec import Codec


def _require(module: str, doing: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependency(f"{doing} needs {module}, which is not installed "
                                f"(pip install {module})") from exc


def to_numpy(m: KeyValueMap, structured: bool) -> Any:
    """``(keys, values)`` arrays of every entry of ``m``, or one array with fields ``key`` and
    ``value``."""
    np = _require("numpy", f"to_numpy() of {m.what}")
    raw_keys: list[bytes] = []
    raw_values: list[bytes] = []
    for key, value in m._raw_items():
        raw_keys.append(key)
        raw_values.append(value)
    dtype, exact = m._key.numpy_dtype(np)
    keys = _array(np, raw_keys, dtype, exact, m._key.decode)
    dtype, exact = m._value.numpy_dtype(np)
    if m.PER_CPU:
        values = _per_cpu(np, m, raw_values, dtype, exact)
    else:
        values = _array(np, raw_values, dtype, exact, m._value.decode)
    if not structured:
        return keys, values
    out = np.empty(len(keys), dtype=[("key", keys.dtype), ("value", values.dtype,
                                                              values.shape[1:])])
    out["key"], out["value"] = keys, values
    return out


def records_to_numpy(raw: list[bytes], codec: Codec, what: str) -> Any:
    """Stream records (each at least ``codec.size`` bytes; longer ones are cut to it) as one
    array of the codec's dtype."""
    np = _require("numpy", f"reading {what} as an array")
    size = codec.size
    dtype, exact = codec.numpy_dtype(np)
    cut = [r if len(r) == size else r[:size] for r in raw]
    return _array(np, cut, dtype, exact, codec.decode)


def _array(np: Any, raw: list[bytes], dtype: Any, exact: bool,
           decode: Callable[[bytes], Any]) -> Any:
    if exact:
        return np.frombuffer(bytearray(b"".join(raw)), dtype=dtype)
    return _filled(np, [decode(r) for r in raw], dtype, (len(raw),))


def _filled(np: Any, decoded: list[Any], dtype: Any, shape: tuple[int, ...]) -> Any:
    if dtype.kind != "O":
        return np.array([_record(v) for v in decoded], dtype=dtype).reshape(shape)
    out = np.empty(shape, dtype=object)
    for i, value in enumerate(decoded):  # element by element: tuples stay objects
        if len(shape) == 1:
            out[i] = value
        else:
            for cpu, one in enumerate(value):
                out[i, cpu] = one
    return out


def _record(value: Any) -> Any:
    """A decoded value as numpy reads records: structs as tuples, arrays as lists."""
    if isinstance(value, BtfStruct):
        return tuple(_record(v) for v in value)
    if isinstance(value, (tuple, list)):
        return [_record(v) for v in value]
    return value


def _per_cpu(np: Any, m: KeyValueMap, raw: list[bytes], dtype: Any, exact: bool) -> Any:
    shape = (len(raw), m._ncpus)
    if exact:  # each CPU's value is padded to 8 bytes
        padded = np.dtype({"names": ["v"], "formats": [dtype], "offsets": [0],
                           "itemsize": m._stride})
        view = np.frombuffer(b"".join(raw), dtype=padded).reshape(shape)["v"]
        return np.array(view)
    return _filled(np, [m._decode_value(r) for r in raw], dtype, shape)


def to_pandas(m: KeyValueMap) -> Any:
    """A DataFrame of every entry: keys as the index, value members as columns."""
    pd = _require("pandas", f"to_pandas() of {m.what}")
    np = _require("numpy", f"to_pandas() of {m.what}")
    keys, values = to_numpy(m, False)
    key_columns = _columns(keys, "key")
    if m.PER_CPU:
        n, ncpus = values.shape
        key_columns = {name: np.repeat(np.asarray(col), ncpus)
                       for name, col in key_columns.items()}
        key_columns["cpu"] = np.tile(np.arange(ncpus), n)
        values = values.reshape(-1)
    if len(key_columns) == 1:
        (name, column), = key_columns.items()
        index = pd.Index(column, name=name)
    else:
        index = pd.MultiIndex.from_arrays(list(key_columns.values()), names=list(key_columns))
    return pd.DataFrame(_columns(values, "value"), index=index)


def _columns(arr: Any, name: str) -> dict[str, Any]:
    """One 1-D column per leaf: ``a.b`` for nested members, ``a[2]`` for array elements;
    ``V`` (raw bytes) columns as ``bytes`` objects."""
    out: dict[str, Any] = {}
    _flatten(arr, "" if arr.dtype.names else name, out)
    return out


def _flatten(arr: Any, label: str, out: dict[str, Any]) -> None:
    if arr.ndim > 1:
        for i in range(arr.shape[1]):
            _flatten(arr[:, i], f"{label}[{i}]", out)
    elif arr.dtype.names:
        for field in arr.dtype.names:
            _flatten(arr[field], f"{label}.{field}" if label else field, out)
    elif arr.dtype.kind == "V":
        out[label] = [bytes(x) for x in arr]
    else:
        out[label] = arr
