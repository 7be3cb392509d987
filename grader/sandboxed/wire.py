"""Values across the sandbox wall as JSON: arrays, scalars, tuples, dicts, NamedTuples.

Never pickle: unpickling runs code, and what comes out of the sandbox is made
by the student.  This format only describes data, and :func:`decode` builds
nothing but NumPy arrays of plain numeric dtypes, Python scalars and
containers, within a budget of entries, nesting and bytes.

Encoded forms (``"~"`` marks a tagged value)::

    None, bool, int, float, str          themselves (JSON)
    list                                 a JSON list
    tuple                                {"~": "tuple", "items": [...]}
    NamedTuple                           {"~": "named", "module", "name", "fields", "items"}
    dict                                 {"~": "dict", "keys": [...], "values": [...]}
    ndarray                              {"~": "array", "dtype": "<f8", "shape": [...], "data": base64}
    NumPy scalar                         {"~": "scalar", "dtype": "<f8", "data": base64}
    anything else                        {"~": "opaque", "type": "its type name"}
"""

import base64
import math

import numpy as np

# Kinds of dtype that cross the wall: bool, signed and unsigned integers, floats, complex.
_KINDS = "biufc"


class WireError(ValueError):
    """The data does not describe a value this format allows, or exceeds the budget."""


class Budget:
    """What one decode may build: entries, nesting depth and bytes of array data."""

    def __init__(self, max_items=2_000_000, max_depth=32, max_bytes=64 * 2**20):
        self.items, self.max_depth, self.bytes = max_items, max_depth, max_bytes

    def spend(self, items=1, nbytes=0):
        self.items -= items
        self.bytes -= nbytes
        if self.items < 0 or self.bytes < 0:
            raise WireError("the value is larger than the grader accepts")


def _type_name(value):
    return type(value).__name__


def encode(value, depth=0):
    """A JSON-compatible description of ``value`` (see the module docstring)."""
    if depth > 40:
        return {"~": "opaque", "type": "too deeply nested"}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int) and type(value) is int:
        return value
    if isinstance(value, float) and type(value) is float:
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in _KINDS or value.dtype.fields is not None:
            return {"~": "opaque", "type": f"ndarray of dtype {value.dtype}"}
        data = np.ascontiguousarray(value).tobytes()
        return {"~": "array", "dtype": value.dtype.str, "shape": list(value.shape), "data": _b64(data)}
    if isinstance(value, np.generic):
        if value.dtype.kind not in _KINDS:
            return {"~": "opaque", "type": f"NumPy scalar of dtype {value.dtype}"}
        return {"~": "scalar", "dtype": value.dtype.str, "data": _b64(np.asarray(value).tobytes())}
    if isinstance(value, tuple):
        items = [encode(item, depth + 1) for item in value]
        fields = getattr(type(value), "_fields", None)
        if isinstance(fields, tuple) and len(fields) == len(value) and all(isinstance(f, str) for f in fields):
            cls = type(value)
            return {
                "~": "named",
                "module": str(cls.__module__),
                "name": str(cls.__qualname__),
                "fields": list(fields),
                "items": items,
            }
        return {"~": "tuple", "items": items}
    if isinstance(value, list):
        return [encode(item, depth + 1) for item in value]
    if isinstance(value, dict):
        keys, values = [], []
        for key, item in value.items():
            keys.append(encode(key, depth + 1))
            values.append(encode(item, depth + 1))
        return {"~": "dict", "keys": keys, "values": values}
    return {"~": "opaque", "type": _type_name(value)[:100]}


def _b64(data):
    return base64.b64encode(data).decode("ascii")


class Opaque:
    """A value that could not cross the wall (a function, a generator, ...), named by its type."""

    def __init__(self, type_name):
        self.type_name = str(type_name)[:100]

    def __repr__(self):
        return f"<{self.type_name}>"


def _named_tuple(fields, items, name):
    """A tuple whose items also answer to their field names (``cache.h_prev``), made without eval."""

    class Record(tuple):
        _fields = tuple(fields)

        def __getattr__(self, attribute):
            try:
                return self[self._fields.index(attribute)]
            except ValueError:
                raise AttributeError(attribute) from None

    Record.__name__ = Record.__qualname__ = name
    return Record(items)


def decode(data, budget=None, named=None, depth=0):
    """The value described by ``data``.

    Parameters
    ----------
    data : JSON value
        What :func:`encode` produced (or anything else: it is checked).
    budget : Budget, optional
        Limits on what is built; a fresh default budget when omitted.
    named : callable, optional
        ``named(module, name, fields, items)`` builds a NamedTuple; by default
        a plain tuple that also answers to the field names.

    Raises
    ------
    WireError
        When ``data`` is not a valid encoding, or the value exceeds the budget.
    """
    budget = Budget() if budget is None else budget
    if depth > budget.max_depth:
        raise WireError("the value is nested too deeply")
    budget.spend()
    if data is None or isinstance(data, (bool, str)):
        return data
    if isinstance(data, int):
        return data
    if isinstance(data, float):
        return data
    if isinstance(data, list):
        return [decode(item, budget, named, depth + 1) for item in data]
    if not isinstance(data, dict):
        raise WireError(f"unexpected {type(data).__name__}")
    tag = data.get("~")
    if tag == "array":
        return _array(data, budget)
    if tag == "scalar":
        array = _array({"dtype": data.get("dtype"), "shape": [], "data": data.get("data")}, budget)
        return array[()]
    if tag == "tuple":
        return tuple(decode(item, budget, named, depth + 1) for item in _list(data, "items"))
    if tag == "named":
        fields = _list(data, "fields")
        items = [decode(item, budget, named, depth + 1) for item in _list(data, "items")]
        if len(fields) != len(items) or not all(isinstance(f, str) and f.isidentifier() for f in fields):
            raise WireError("a NamedTuple with bad fields")
        module, name = str(data.get("module", ""))[:200], str(data.get("name", "tuple"))[:100]
        if named is not None:
            return named(module, name, fields, items)
        return _named_tuple(fields, items, name if name.isidentifier() else "record")
    if tag == "dict":
        keys = [decode(key, budget, named, depth + 1) for key in _list(data, "keys")]
        values = [decode(value, budget, named, depth + 1) for value in _list(data, "values")]
        if len(keys) != len(values):
            raise WireError("a dict with more keys than values")
        try:
            return dict(zip(keys, values, strict=True))
        except TypeError:
            raise WireError("a dict with unhashable keys") from None
    if tag == "opaque":
        return Opaque(data.get("type", "object"))
    raise WireError(f"unknown tag {str(tag)[:50]!r}")


def _list(data, key):
    value = data.get(key)
    if not isinstance(value, list):
        raise WireError(f"{key} should be a list")
    return value


def _array(data, budget):
    dtype_text, shape, text = data.get("dtype"), data.get("shape"), data.get("data")
    if not isinstance(dtype_text, str) or not isinstance(shape, list) or not isinstance(text, str):
        raise WireError("an array needs dtype, shape and data")
    try:
        dtype = np.dtype(dtype_text)
    except TypeError:
        raise WireError(f"unknown dtype {dtype_text[:30]!r}") from None
    if dtype.kind not in _KINDS or dtype.fields is not None or dtype.itemsize > 32:
        raise WireError(f"dtype {dtype} is not allowed")
    if len(shape) > 32 or not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n for n in shape):
        raise WireError("a bad shape")
    count = math.prod(shape)
    budget.spend(items=count, nbytes=count * dtype.itemsize)
    if len(text) > 4 * (count * dtype.itemsize + 2) // 3 + 4:
        raise WireError("more data than the shape holds")
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raise WireError("data is not base64") from None
    if len(raw) != count * dtype.itemsize:
        raise WireError("the data does not match the shape")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
