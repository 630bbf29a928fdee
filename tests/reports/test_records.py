"""The results format's owner (``dmlbench.reports.records``): the case id, the record
builder, the writer that survives a kill mid-write and the one strict reader, and a suite
run end to end from the runner's records to a report."""

from __future__ import annotations

import json

import numpy as np
import pytest
from made_up import record as made_up_record

from dmlbench.reports.records import (
    KNOWN_SCHEMAS,
    OUTCOMES,
    PROBLEMS,
    RESULTS_NAME,
    SCHEMA_VERSION,
    RecordsError,
    append_record,
    case_id,
    make_record,
    read_records,
)
from dmlbench.reports.render import report
from dmlbench.reports.results import ReportError, load
from dmlbench.suites.cli.commands import main
from dmlbench.suites.define.spec import load_suite
from dmlbench.suites.run.runner import run_suite

CASE = {
    "suite": "t",
    "algorithm": "kmeans",
    "dataset": "blobs",
    "params": {"n_clusters": 3, "max_iter": 5},
    "backend": "local",
    "n_workers": 1,
    "impl": "dmlbench",
    "n_samples": 1000,
    "n_features": 20,
    "repeats": 1,
    "timeout": 60.0,
    "seed": 0,
}


ENV = {"python": "3.11", "platform": "Linux", "cores": 2, "versions": {}, "git_commit": None}


def rec(n_samples: int = 1000, outcome: str = "skipped", **fields):
    case = {**CASE, "n_samples": n_samples}
    return make_record(case, outcome, reason="test", environment=ENV, finished_at=0.0, **fields)


# -- the vocabulary and the builder -------------------------------------------------------
def test_case_id_is_the_suite_cases_id():
    """Existing results files resume only if the id is the one `Case.id` always gave."""
    suite = load_suite("quick")
    assert suite.cases
    for case in suite.cases:
        assert case_id(case.to_dict()) == case.id
    first = suite.cases[0]
    params = json.dumps(first.params, sort_keys=True)
    assert first.id == (
        f"{first.algorithm}/{first.dataset}/{first.impl}/{first.backend}/w{first.n_workers}/"
        f"n{first.n_samples}/d{first.n_features}/{params}"
    )
    expected = 'kmeans/blobs/dmlbench/local/w1/n1000/d20/{"max_iter": 5, "n_clusters": 3}'
    assert case_id(CASE) == expected


def test_make_record_fills_the_identity_and_refuses_what_is_not_the_format():
    r = make_record(CASE, "timeout", reason="over the 3 s timeout; cancelled", finished_at=1.0)
    assert r["case"] == CASE and r["case"] is not CASE
    assert r["case_id"] == case_id(CASE) and r["schema_version"] == SCHEMA_VERSION
    assert r["outcome"] == "timeout" and r["finished_at"] == 1.0
    assert set(PROBLEMS) < set(OUTCOMES) and SCHEMA_VERSION in KNOWN_SCHEMAS
    with pytest.raises(
        ValueError,
        match=r"outcome must be one of \['ok', 'wrong-answer', 'timeout', 'failed', "
        r"'skipped'\]; got 'passed'",
    ):
        make_record(CASE, "passed")
    with pytest.raises(TypeError, match=r"got \['fit_mean_s'\], not fields it takes; valid: "):
        make_record(CASE, "ok", fit_mean_s=1.0)
    with pytest.raises(TypeError, match=r"got \['case_id'\]"):  # filled here, never given
        make_record(CASE, "ok", case_id="mine")


# -- writing and reading ------------------------------------------------------------------
def test_append_after_a_cut_off_line_removes_it(tmp_path, capsys):
    """A kill mid-write leaves a partial last line: the reader skips it (noted), and the
    next append removes it instead of gluing a record onto it; every record is read."""
    path = tmp_path / RESULTS_NAME
    append_record(path, rec(1))
    append_record(path, rec(2))
    with open(path, "a") as f:  # what a kill in the middle of the write leaves
        f.write(json.dumps(rec(3))[:40])
    notes: list[str] = []
    assert [r["case"]["n_samples"] for r in read_records(path, notes=notes)] == [1, 2]
    assert notes == [f"{path}:3: incomplete last line ignored (a run killed mid-write)"]
    append_record(path, rec(4))
    append_record(path, rec(5))
    lines = path.read_text().split("\n")
    assert len(lines) == 5 and lines[-1] == ""  # 4 whole lines, each ending in a newline
    assert json.loads(lines[2])["case"]["n_samples"] == 4  # where the cut-off line was
    notes = []
    assert [r["case"]["n_samples"] for r in read_records(path, notes=notes)] == [1, 2, 4, 5]
    assert notes == []

    results = load([tmp_path])
    assert sorted(r["case"]["n_samples"] for r in results.cases) == [1, 2, 4, 5]
    out = tmp_path / "report"
    assert main(["report", str(path), "--out", str(out)]) == 0, capsys.readouterr().err
    assert "4 cases (4 skipped)" in (out / "report.md").read_text()


def test_a_whole_record_missing_only_its_newline_is_kept(tmp_path):
    """A kill between a record's last byte and its newline: the record is finished (the
    reader counts it), so the next append must not remove it."""
    path = tmp_path / RESULTS_NAME
    append_record(path, rec(1))
    with open(path, "a") as f:
        f.write(json.dumps(rec(2)))
    append_record(path, rec(3))
    assert [r["case"]["n_samples"] for r in read_records(path)] == [1, 2, 3]


def test_a_cut_off_line_anywhere_but_last_is_an_error_naming_it(tmp_path):
    path = tmp_path / RESULTS_NAME
    path.write_text(json.dumps(rec(1)) + "\n" + json.dumps(rec(2))[:30] + "\n"
                    + json.dumps(rec(3)) + "\n")  # fmt: skip
    with pytest.raises(RecordsError, match=rf"{path}:2: an incomplete record, not on the last"):
        read_records(path)


def test_a_cut_off_last_line_is_noted_not_fatal(tmp_path):
    path = tmp_path / RESULTS_NAME
    append_record(path, rec(1))
    # cut right after a nested object closed: still an unclosed record
    cut = json.dumps(rec(2))
    cut = cut[: cut.index('}, "outcome"') + 1]
    assert cut.endswith('"seed": 0}')
    with open(path, "a") as f:
        f.write(cut)
    notes: list[str] = []
    assert [r["case"]["n_samples"] for r in read_records(path, notes=notes)] == [1]
    assert notes == [f"{path}:2: incomplete last line ignored (a run killed mid-write)"]
    assert read_records(path) == read_records(path, notes=[])  # notes are optional


def test_numpy_values_are_written_as_json(tmp_path):
    path = tmp_path / RESULTS_NAME
    append_record(
        path, rec(outcome="ok", fit_median_s=np.float64(0.5), fit_spread_s=np.array([0.4, 0.6]))
    )
    (r,) = read_records(path)
    assert r["fit_median_s"] == 0.5 and r["fit_spread_s"] == [0.4, 0.6]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", r"r\.jsonl:2: not JSON \(Expecting value\); expected one JSON record"),
        # two records glued together: the first one closed, so this is no cut-off line
        ("{}{}", r"r\.jsonl:2: not JSON \(Extra data\)"),
        ("[1, 2]", r"r\.jsonl:2: not a dmlbench case record: a JSON list, expected a JSON obj"),
        ('{"schema_version": 1, "case": {}}', r"r\.jsonl:2: not a dmlbench case record: no \["),
    ],
)
def test_a_bad_line_in_the_middle_is_an_error_naming_file_and_line(tmp_path, line, message):
    path = tmp_path / "r.jsonl"
    append_record(path, rec(1))
    with open(path, "a") as f:
        f.write(line + "\n\n")  # a blank line too: skipped, still counted
    append_record(path, rec(3))
    with pytest.raises(RecordsError, match=message):
        read_records(path)
    with pytest.raises(ReportError, match=message):
        load([path])


def test_an_unknown_schema_or_outcome_is_refused_naming_the_known_ones(tmp_path, capsys):
    path = tmp_path / "r.jsonl"
    append_record(path, rec(1))
    append_record(path, {**rec(2), "schema_version": 2})
    expected = r"r\.jsonl:2: not a dmlbench case record of a known schema: schema_version 2; "
    expected += r"known: \[1\]"
    with pytest.raises(RecordsError, match=expected):
        read_records(path)
    # the command line says it in one line, no traceback
    assert main(["report", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dmlbench report: ") and "r.jsonl:2: not a dmlbench case record" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1

    other = tmp_path / "o.jsonl"
    append_record(other, {**rec(1), "outcome": "passed"})
    with pytest.raises(RecordsError, match=r"o\.jsonl:1: outcome must be one of \['ok', "):
        read_records(other)


def test_a_missing_file_is_an_error_naming_it(tmp_path, capsys):
    with pytest.raises(RecordsError, match=r"nothing\.jsonl: no such results file"):
        read_records(tmp_path / "nothing.jsonl")
    out = tmp_path / "bench.json"
    assert main(["export-benchmark", str(tmp_path / "nothing.jsonl"), "-o", str(out)]) == 2
    assert "nothing.jsonl: no such results file" in capsys.readouterr().err


# -- end to end: a suite run, read back, reported -----------------------------------------
SUITE = """
[suite]
name = "records-e2e"
repeats = 1
timeout = 120

[grid]
backends = ["local"]
n_workers = [1]
n_samples = [2000]

[[workload]]
algorithm = "linear_regression"
dataset = "regression"

[[workload]]
algorithm = "kmeans"
dataset = "blobs"
params = { n_clusters = 8, random_state = 0 }  # as in the quick suite
"""


def test_a_suite_run_reads_back_and_reports(tmp_path, suite_file):
    """The runner writes through the owner, the reports read through it: every case of
    the suite comes back ``ok`` under its own id, and a report is built from it."""
    suite = load_suite(str(suite_file(SUITE)))
    assert len(suite.cases) == 2
    out_dir = tmp_path / "out"
    path = run_suite(suite, out_dir)
    assert path == out_dir / RESULTS_NAME

    results = load([out_dir])
    assert results.notes == [] and results.replaced == 0
    by_id = {r["case_id"]: r for r in results.cases}
    assert sorted(by_id) == sorted(c.id for c in suite.cases)
    for case in suite.cases:
        r = by_id[case.id]
        assert r["outcome"] == "ok", r.get("reason")
        assert r["case"] == case.to_dict() and r["schema_version"] == SCHEMA_VERSION
        assert r["quality"]["ok"] and r["fit_median_s"] > 0 and r["n_samples"] == 2000
    assert read_records(path) == list(by_id.values())  # one reader under both

    paths = report([out_dir], tmp_path / "report")
    assert paths and all(p.exists() and p.stat().st_size > 0 for p in paths.values())
    md = paths["markdown"].read_text()
    assert "records-e2e" in md and "2 cases (2 ok)" in md

    # The report tests' made-up records carry the fields the runner writes (both come out
    # of the one record builder): a field the runner adds or drops shows here.
    real = next(r for r in by_id.values() if r["case"]["algorithm"] == "linear_regression")
    made = made_up_record("linear_regression", "local", dataset="regression", n=2000)
    assert set(made) == set(real) - {"machine"}
    assert set(made["quality"]) == set(real["quality"])
    assert set(made["phases"]) == set(real["phases"]) - {"prepare_s"}
