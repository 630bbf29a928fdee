"""The tests' own suite files (``conftest``'s ``suite_file`` fixture and ``inline_suite``):
a suite given as a dict is the suite given as TOML text, written as a user would write it."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest
from conftest import inline_suite, suite_toml

from dmlbench.suites.define.spec import SuiteError, load_suite

TEXT = """
[suite]
name = "t"
repeats = 2
timeout = 60

[grid]
backends = ["local"]
n_workers = [1]
n_samples = [400, 800]

[[workload]]
algorithm = "linear_regression"
dataset = "regression"

[[workload]]
algorithm = "kmeans"
dataset = "blobs"
params = { n_clusters = 3, random_state = 0, tol = 1e-05 }
n_samples = [600]

[profiles.smoke]
n_samples = [200]
repeats = 1
params = { n_clusters = 2 }
"""

DOC: dict[str, Any] = {
    "suite": {"name": "t", "repeats": 2, "timeout": 60},
    "grid": {"backends": ["local"], "n_workers": [1], "n_samples": [400, 800]},
    "workload": [
        {"algorithm": "linear_regression", "dataset": "regression"},
        {
            "algorithm": "kmeans",
            "dataset": "blobs",
            "params": {"n_clusters": 3, "random_state": 0, "tol": 1e-5},
            "n_samples": [600],
        },
    ],
    "profiles": {"smoke": {"n_samples": [200], "repeats": 1, "params": {"n_clusters": 2}}},
}


def cases(suite) -> list[dict]:
    return [{"id": c.id, **c.to_dict()} for c in suite.cases]


def test_a_dict_and_its_toml_give_the_same_cases():
    assert tomllib.loads(TEXT) == DOC  # (the two spellings below are one suite)
    assert len(inline_suite(DOC).cases) == 3
    assert cases(inline_suite(DOC)) == cases(inline_suite(TEXT))
    smoke = inline_suite(DOC, profile="smoke")
    assert [(c.n_samples, c.repeats, c.params.get("n_clusters")) for c in smoke.cases] == [
        (200, 1, None), (200, 1, 2),
    ]  # fmt: skip
    assert cases(smoke) == cases(inline_suite(TEXT, profile="smoke"))
    more: dict[str, Any] = {"backends": ["local", "dask"], "n_workers": [1, 2]}
    assert cases(inline_suite(DOC, **more)) == cases(inline_suite(TEXT, **more))


def test_the_file_holds_what_a_user_would_write_and_loads_as_inline(suite_file):
    from_dict, from_text = suite_file(DOC, "dict.toml"), suite_file(TEXT)
    assert from_text.name == "suite.toml" and from_text.read_text() == TEXT  # kept as written
    written = from_dict.read_text()
    assert from_dict == from_text.with_name("dict.toml")  # the test's own folder
    for line in ("[suite]", "[grid]", "[[workload]]", "[profiles.smoke]",
                 "params = { n_clusters = 3, random_state = 0, tol = 1e-05 }"):  # fmt: skip
        assert line in written.splitlines(), written
    assert cases(load_suite(str(from_dict))) == cases(load_suite(str(from_text)))
    assert cases(load_suite(str(from_dict))) == cases(inline_suite(DOC))


def test_the_name_stands_for_the_file_in_errors():
    bad = {**DOC, "grid": {**DOC["grid"], "workers": [1]}}
    with pytest.raises(SuiteError, match=r"^mine\.toml: unknown key 'grid\.workers'"):
        inline_suite(bad, "mine.toml")


@pytest.mark.parametrize(
    "value",
    ["plain", 'say "hi"\\ there', "two\nlines\tand\x7f", "ünïcode ✓", "", 0, -3, 2.5, 1e-12,
     float("inf"), True, False, [], [1, 2], ["a", [1.5]], {}, {"a": {"b": [True]}},
     {"odd key": 1, "x.y": 2}],
)  # fmt: skip
def test_every_value_a_suite_holds_reads_back_as_written(value):
    doc = {"suite": {"value": value}, "workload": [{"params": {"value": value}}],
           "profiles": {"odd name": {"value": value}}}  # fmt: skip
    assert tomllib.loads(suite_toml(doc)) == doc


def test_a_value_toml_cannot_hold_is_refused():
    with pytest.raises(
        TypeError, match=r"holds bools, numbers, strings, lists and tables; got None"
    ):
        suite_toml({"suite": {"name": None}})
