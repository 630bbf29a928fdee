"""``dmlbench reproduce``: one recorded case run again from its record, what differs about
this machine said first, then the new median beside the old with compare's verdict."""

from __future__ import annotations

import io
import json
import re

import pytest
from conftest import inline_suite

from dmlbench.reports.records import read_records
from dmlbench.suites.cli.commands import main
from dmlbench.suites.run.reproduce import ReproduceError, case_of, differences
from dmlbench.suites.run.runner import run_suite


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    out = tmp_path_factory.mktemp("recorded")
    doc = {
        "suite": {"name": "again", "repeats": 6, "seed": 7},
        "grid": {"backends": ["local"], "n_workers": [1], "n_samples": [4000]},
        "workload": [{"algorithm": "kmeans", "dataset": "blobs", "params": {"n_clusters": 3}}],
    }
    run_suite(inline_suite(doc), out, stream=io.StringIO())
    return out


def test_reproduce_runs_the_recorded_case_and_gives_a_verdict(recorded, tmp_path, capsys):
    (old,) = read_records(recorded / "results.jsonl")
    status = main(["reproduce", str(recorded), old["case_id"], "--out", str(tmp_path / "b")])
    printed = capsys.readouterr().out
    verdict = re.search(r"verdict: (\w+)", printed).group(1)
    assert verdict in ("same", "faster", "slower", "unstable")
    assert status == (0 if verdict in ("same", "faster") else 1)
    said = printed.split("this machine against the record's:\n", 1)[1].splitlines()[0]
    assert said.startswith("  ") and said.strip()  # what differs, or that nothing does
    (new,) = read_records(tmp_path / "b" / "results.jsonl")
    # The same case: parameters, seed (so data and start), settings, answer.
    assert new["case_id"] == old["case_id"] and new["case"] == old["case"]
    assert new["quality"]["reference"] == pytest.approx(old["quality"]["reference"], rel=1e-9)


def test_a_record_on_stdin_with_more_launches(recorded, tmp_path, capsys, monkeypatch):
    line = (recorded / "results.jsonl").read_text().splitlines()[0]
    monkeypatch.setattr("sys.stdin", io.StringIO(line + "\n"))
    main(["reproduce", "-", "--launches", "2", "--out", str(tmp_path / "c")])
    assert "in 2 launches" in capsys.readouterr().out
    (new,) = read_records(tmp_path / "c" / "results.jsonl")
    assert len(new["fit_s_by_launch"]) == 2


def test_bad_input_is_refused_with_what_to_do(recorded, tmp_path, capsys):
    assert main(["reproduce", str(recorded), "no/such/case", "--out", str(tmp_path / "d")]) == 2
    assert "no record of case 'no/such/case'" in capsys.readouterr().err
    (old,) = read_records(recorded / "results.jsonl")
    tampered = {**old, "case": {**old["case"], "n_samples": 5000}}
    with pytest.raises(ReproduceError, match="not its case_id"):
        case_of(tampered)
    with pytest.raises(ReproduceError, match="not a case record"):
        case_of({"case_id": "x", "case": {"algorithm": "kmeans"}})
    assert not (tmp_path / "d").exists()  # nothing ran


def test_differences_name_versions_blas_cores_and_code():
    old = {"cores": 2, "blas": ["openblas 0.3.30"], "versions": {"dask": "2026.8.0"},
           "code": {"commit": "a1", "dirty": False}}  # fmt: skip
    new = {"cores": 4, "blas": ["openblas 0.3.31"], "versions": {"dask": "2026.11.0", "ray": "2.60.0"},
           "code": {"commit": "b2", "dirty": True, "dirty_files": ["algorithms/kmeans.py"]}}  # fmt: skip
    said = "\n".join(differences(old, new))
    for expected in ("cores: 2 recorded, 4 here", "BLAS:", "dask: 2026.8.0 recorded, 2026.11.0 here",
                     "ray: not installed recorded, 2.60.0 here", "code: commit a1 recorded, b2 here",
                     "code here: uncommitted changes (algorithms/kmeans.py)"):  # fmt: skip
        assert expected in said
    assert differences(old, json.loads(json.dumps(old))) == []
