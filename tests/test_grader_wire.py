"""The wire format between the sandbox and the judge: faithful for data, inert and bounded for anything else."""

from __future__ import annotations

import json
from typing import NamedTuple

import numpy as np
import pytest

from grader.sandboxed import wire


class StepCache(NamedTuple):
    x: np.ndarray
    h: np.ndarray


def _roundtrip(value):
    return wire.decode(json.loads(json.dumps(wire.encode(value))))


def test_arrays_keep_dtype_shape_and_values(rng):
    for array in (
        rng.standard_normal((3, 2)),
        rng.standard_normal((2, 4, 1)).astype(np.float32),
        rng.integers(-5, 5, size=(7,)),
        rng.random((2, 3)) < 0.5,
        np.zeros((0, 3)),
        np.array(2.5),
    ):
        back = _roundtrip(array)
        assert back.dtype == array.dtype and back.shape == array.shape
        np.testing.assert_array_equal(back, array)


def test_containers_and_scalars_round_trip(rng):
    grads = {"W_x": rng.standard_normal((2, 3)), "b": rng.standard_normal(2)}
    value = (grads, [1, 2.5, None, True, "text"], {3: "int key"}, np.float32(1.5), float("nan"))
    back = _roundtrip(value)
    assert isinstance(back, tuple) and isinstance(back[1], list)
    np.testing.assert_array_equal(back[0]["W_x"], grads["W_x"])
    assert back[1] == [1, 2.5, None, True, "text"] and back[2] == {3: "int key"}
    assert back[3] == np.float32(1.5) and back[3].dtype == np.float32
    assert np.isnan(back[4])


def test_named_tuples_keep_their_field_names(rng):
    cache = StepCache(rng.standard_normal((1, 2)), rng.standard_normal((1, 2)))
    back = _roundtrip(cache)
    assert back._fields == ("x", "h")
    np.testing.assert_array_equal(back.h, cache.h)
    rebuilt = wire.decode(wire.encode(cache), named=lambda module, name, fields, items: StepCache(*items))
    assert isinstance(rebuilt, StepCache)


def test_anything_else_becomes_an_inert_name():
    encoded = wire.encode((print, (i for i in range(3)), np.array([object()], dtype=object)))
    back = wire.decode(encoded)
    assert [type(item) for item in back] == [wire.Opaque] * 3
    assert back[0].type_name == "builtin_function_or_method"


def test_a_named_tuple_cannot_name_a_function_into_existence():
    data = {"~": "named", "module": "os", "name": "system", "fields": ["command"], "items": ["echo owned"]}
    back = wire.decode(data)
    assert isinstance(back, tuple) and back == ("echo owned",) and back.command == "echo owned"


@pytest.mark.parametrize(
    "data",
    [
        {"~": "array", "dtype": "|O", "shape": [1], "data": ""},
        {"~": "array", "dtype": "<f8", "shape": [2], "data": "AAAAAAAAAAA="},
        {"~": "array", "dtype": "<f8", "shape": [-1], "data": ""},
        {"~": "array", "dtype": "<f8", "shape": [1], "data": "not base64!"},
        {"~": "array", "dtype": "V8", "shape": [1], "data": "AAAAAAAAAAA="},
        {"~": "pickle", "data": "gASVAAAA"},
        {"~": "dict", "keys": [[1]], "values": [2]},
        {"~": "dict", "keys": [1, 2], "values": [3]},
        {"no": "tag"},
    ],
)
def test_bad_data_is_refused(data):
    with pytest.raises(wire.WireError):
        wire.decode(data)


def test_decoding_stays_within_its_budget():
    deep = 0
    for _ in range(100):
        deep = [deep]
    with pytest.raises(wire.WireError, match="nested"):
        wire.decode(deep)
    big = {"~": "array", "dtype": "<f8", "shape": [10**9], "data": ""}
    with pytest.raises(wire.WireError, match="larger"):
        wire.decode(big, wire.Budget(max_bytes=2**20))
