"""``dmlbench kernels``: ours beside scikit-learn, one core, per iteration (a benchmark:
the tests check what it measures and reports, never a speed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dmlbench.suites.kernels import SETUPS, format_table, measure

SMALL = {
    "kmeans": {"rows": 40_000, "features": 20, "blocks": 4, "short": 1, "long": 3},
    "logistic": {"rows": 40_000, "features": 30, "blocks": 4, "short": 2, "long": 4},
    "mlp": {"rows": 2_000, "features": 64, "blocks": 1, "short": 1, "long": 2},
    "cnn": {"rows": 1_000, "features": 64, "blocks": 1, "short": 1, "long": 2},
}


@pytest.mark.parametrize("name", list(SETUPS))
def test_each_kernel_is_timed_per_unit_for_ours_and_scikit_learn(name):
    r = measure(name, repeats=2, setup=SMALL[name], log=lambda _: None)
    impls = ["ours"] if name == "cnn" else ["ours", "scikit-learn"]  # no CNN in sklearn
    assert [k for k in ("ours", "scikit-learn") if k in r] == impls
    for impl in impls:
        m = r[impl]
        assert m["n"] == 2 and len(m["per_unit_s"]) == 2
        assert m["spread_s"][0] <= m["median_s"] <= m["spread_s"][1]
    assert r["per_sample"] == (name in ("mlp", "cnn"))
    if name != "cnn":
        assert len(r["ratios"]) == 2 and r["ratio"] == pytest.approx(
            r["ours"]["median_s"] / r["scikit-learn"]["median_s"]
        )
    assert name in format_table([r])


def test_the_command_refuses_an_unknown_kernel_and_names_the_valid_ones():
    script = Path(sys.executable).with_name("dmlbench")
    proc = subprocess.run([str(script), "kernels", "--kernels", "kmeans,svm"],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert proc.returncode == 2
    assert "unrecognized kernel 'svm' must be one of: ['kmeans', 'logistic', 'mlp', 'cnn']" in (
        proc.stderr
    )


def test_json_holds_every_repeat_and_the_machine(tmp_path, monkeypatch):
    from dmlbench.suites import cli, kernels

    monkeypatch.setitem(kernels.SETUPS, "kmeans", SMALL["kmeans"])
    out = tmp_path / "k.json"
    assert cli.main(["kernels", "--kernels", "kmeans", "--repeats", "2", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["kind"] == "kernels" and doc["environment"]["cores"] >= 1
    (r,) = doc["results"]
    assert r["kernel"] == "kmeans" and len(r["ours"]["per_unit_s"]) == 2
