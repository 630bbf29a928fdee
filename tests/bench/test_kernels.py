"""``dmlbench kernels``: ours beside scikit-learn, one core, per iteration (a benchmark:
the tests check what it measures and reports, never a speed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dmlbench.suites.bench.kernel_timings import SETUPS, format_table, measure

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
    from dmlbench.suites.bench import kernel_timings as kernels
    from dmlbench.suites.cli import commands

    monkeypatch.setitem(kernels.SETUPS, "kmeans", SMALL["kmeans"])
    out = tmp_path / "k.json"
    assert commands.main(["kernels", "--kernels", "kmeans", "--repeats", "2", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["kind"] == "kernels" and doc["environment"]["cores"] >= 1
    (r,) = doc["results"]
    assert r["kernel"] == "kmeans" and len(r["ours"]["per_unit_s"]) == 2


@pytest.mark.parametrize("offset", [0.0, 1e4])  # near the origin, and far (cancellation)
@pytest.mark.parametrize("rows", [0, 1, 255, 256, 257, 8193])  # around the 256-row chunk
def test_the_compiled_lloyd_step_gives_the_numpy_kernels_answer(rows, offset):
    from dmlbench.algorithms.kernels import lloyd_partial, lloyd_partial_numpy
    from dmlbench.backends import Block

    rng = np.random.default_rng(rows)
    X = rng.normal(size=(rows, 7)) + offset
    centers = rng.normal(size=(3, 7)) + offset
    if rows >= 3:
        centers = X[:3].copy()
    compiled = lloyd_partial(Block(np.asfortranarray(X), None), centers)  # any layout in
    numpy = lloyd_partial_numpy(Block(X, None), centers)
    assert (compiled[1] == numpy[1]).all()  # the same rows in every cluster
    np.testing.assert_allclose(compiled[0], numpy[0], rtol=1e-12, atol=1e-9 * (1 + offset))
    # Both expand ||x - c||² = ||x||² - 2 x·c + ||c||²: far from the origin each loses the
    # same ~1e-8 of a distance to cancellation, in different roundings.
    np.testing.assert_allclose(compiled[2], numpy[2], rtol=1e-12 if not offset else 1e-7)


def test_the_compiled_kernel_is_compiled_once_for_every_input_layout():
    from dmlbench.algorithms import compiled
    from dmlbench.algorithms.kernels import lloyd_partial, warm_compiled
    from dmlbench.backends import Block

    read_only = np.zeros((1, 1))
    read_only.setflags(write=False)  # as Ray's object store hands blocks out
    for block in (np.zeros((1, 1)), read_only):  # the runner warms each block's kind
        assert warm_compiled(Block(block, None)) == {os.getpid()}
    warmed = set(compiled.lloyd_step.signatures)
    X = np.random.default_rng(0).random((600, 5))
    frozen = X.copy()
    frozen.setflags(write=False)
    centers = X[:4].copy()
    centers.setflags(write=False)  # a broadcast may arrive read-only too
    for block in (X, np.asfortranarray(X), X[::2], X.astype(np.float32), frozen):
        lloyd_partial(Block(block, None), centers)
    # Writable and read-only C-ordered float64 blocks, writable centres: the kinds the
    # warm-up made; no fit compiles another.
    assert set(compiled.lloyd_step.signatures) == warmed and len(warmed) == 2, warmed


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("rows", [0, 5, 8192, 20_001])  # around the 8192-row chunks
def test_the_chunked_logistic_loss_and_gradient_are_the_textbook_ones(rows, n_classes):
    from scipy.special import expit, log_softmax

    from dmlbench.algorithms.kernels import logistic_loss_grad
    from dmlbench.backends import Block

    rng = np.random.default_rng(rows)
    X = rng.normal(size=(rows, 6))
    y = rng.integers(0, n_classes, size=rows).astype(float)
    classes = np.arange(n_classes, dtype=float)
    W = rng.normal(size=(1 if n_classes == 2 else n_classes, 7))
    loss, grad = logistic_loss_grad(Block(X, y), W, classes)
    Z = X @ W[:, :6].T + W[:, 6]
    if n_classes == 2:  # unchunked, from scipy: -log p(y) and X^T (p - t)
        z, t = Z[:, 0], y == 1
        want_loss = np.logaddexp(0, np.where(t, -z, z)).sum()
        r = expit(z) - t
        want_grad = np.append(r @ X, r.sum())[None, :]
    else:
        T = y[:, None] == classes
        logp = log_softmax(Z, axis=1)
        want_loss = -(logp * T).sum()
        R = np.exp(logp) - T
        want_grad = np.concatenate([R.T @ X, R.sum(axis=0)[:, None]], axis=1)
    assert loss == pytest.approx(want_loss, rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-10, atol=1e-9)
