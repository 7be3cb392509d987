"""Students read rnn_ref: every public function documents its parameters and returns (numpydoc)."""

import inspect

import pytest

import rnn_ref


def _public_functions():
    for module_name in rnn_ref.__all__:
        module = getattr(rnn_ref, module_name)
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(obj) or inspect.isclass(obj):
                yield f"{module.__name__}.{name}", obj


PUBLIC = dict(_public_functions())


def test_every_module_has_a_docstring():
    for module_name in rnn_ref.__all__:
        assert inspect.getdoc(getattr(rnn_ref, module_name)), f"rnn_ref.{module_name} has no module docstring"


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_public_function_has_numpydoc_parameters_and_returns(name):
    obj = PUBLIC[name]
    doc = inspect.getdoc(obj) or ""
    assert doc, f"{name} has no docstring"
    if inspect.isfunction(obj) and inspect.signature(obj).parameters:
        for section in ("Parameters\n----------", "Returns\n-------"):
            assert section in doc, f"{name}'s docstring has no {section.splitlines()[0]} section"


@pytest.mark.parametrize(
    "module_name", ["rnn", "lstm", "gru", "peephole", "bidirectional", "tbptt", "activations", "losses"]
)
def test_numerical_functions_state_their_equations(module_name):
    """The forward and backward of every cell carry the equation they implement (a Notes section with math)."""
    module = getattr(rnn_ref, module_name)
    for name, obj in vars(module).items():
        if inspect.isfunction(obj) and obj.__module__ == module.__name__ and not name.startswith("_"):
            if name.endswith(("forward", "backward", "gate", "candidate", "state", "sigmoid", "bptt")):
                doc = inspect.getdoc(obj)
                assert "Notes\n-----" in doc and "math::" in doc, f"{module.__name__}.{name} states no equation"


def test_the_notation_table_is_in_the_package_docstring():
    doc = rnn_ref.__doc__
    for needle in ("time-major", "(G*H, D)", "i, f, g, o", "r, z, n", "reset_after", "p_i, p_f, p_o"):
        assert needle in doc
