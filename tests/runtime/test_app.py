"""Declaring functions: Lambda's defaults and ranges, and refusals that name the bad option."""

from __future__ import annotations

import pytest

from ripple.app import App, FunctionSettings
from ripple.errors import Conflict, NotFound, ValidationError


def test_defaults_are_lambdas() -> None:
    s = FunctionSettings()
    assert (s.timeout, s.memory_mb, s.tmp_mb, s.concurrency, dict(s.env), s.description) == (3, 128, 512, None, {}, "")


@pytest.mark.parametrize(
    ("option", "value", "named"),
    [
        ("timeout", 0.5, "timeout=0.5"), ("timeout", 901, "timeout=901"), ("timeout", "3", "timeout"),
        ("memory_mb", 127, "memory_mb=127"), ("memory_mb", 10_241, "memory_mb=10241"),
        ("memory_mb", 256.0, "memory_mb"),
        ("tmp_mb", 511, "tmp_mb=511"), ("tmp_mb", 10_241, "tmp_mb=10241"),
        ("concurrency", -1, "concurrency=-1"), ("memory_mb", True, "memory_mb"),
    ],
)  # fmt: skip
def test_out_of_range_settings_are_refused_by_name(option: str, value: object, named: str) -> None:
    app = App("t")
    with pytest.raises(ValidationError, match=named):
        app.function(**{option: value})


def test_unknown_option_is_refused_with_a_suggestion() -> None:
    with pytest.raises(ValidationError, match=r"unknown function option 'timout'; did you mean 'timeout'"):
        App("t").function(timout=3)


def test_trigger_decorators_can_share_the_settings() -> None:
    s = FunctionSettings.from_options({"timeout": 30, "batch_size": 10}, accepted=frozenset({"batch_size"}))
    assert s.timeout == 30
    with pytest.raises(ValidationError, match="batch_sise"):
        FunctionSettings.from_options({"batch_sise": 10}, accepted=frozenset({"batch_size"}))


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"1X": "v"}, "'1X'"),
        ({"A": "v"}, "'A'"),
        ({"AWS_REGION": "x"}, "reserved"),
        ({"OK_NAME": 1}, "OK_NAME"),
        ({"BIG": "x" * 5000}, "4096"),
    ],
)
def test_bad_environment_is_refused(env: dict, named: str) -> None:
    with pytest.raises(ValidationError, match=named):
        App("t").function(env=env)


def resize(event, context):
    return event


def test_decorator_registers_and_returns_the_function_unchanged() -> None:
    app = App("t")
    assert app.function(timeout=30, memory_mb=512, description="resizes")(resize) is resize
    fn = app.get_function("resize")
    assert fn.handler == f"{__name__}.resize"
    assert (fn.settings.timeout, fn.settings.memory_mb, fn.settings.description) == (30, 512, "resizes")


def test_nested_functions_are_refused_since_a_sandbox_cannot_import_them() -> None:
    def inner(event, context):
        return None

    with pytest.raises(ValidationError, match="module-level"):
        App("t").function()(inner)


def test_lambda_style_handler_string_and_its_errors() -> None:
    app = App("t")
    fn = app.function("legacy", handler="lambda_function.lambda_handler")
    assert fn.handler == "lambda_function.lambda_handler"
    with pytest.raises(Conflict, match="legacy"):
        app.function("legacy", handler="x.y")
    with pytest.raises(ValidationError, match="'nodot'"):
        app.function("other", handler="nodot")
    with pytest.raises(ValidationError, match="'bad name!'"):
        app.function("bad name!", handler="x.y")
    with pytest.raises(NotFound, match="'nope'"):
        app.get_function("nope")
