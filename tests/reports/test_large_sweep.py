"""The report at a sweep's size: many engines, worker counts and sizes, the same case in
two files; every figure drawn, none unreadable without saying what it left out."""

from __future__ import annotations

from functools import partial

import pytest
from made_up import made_up_split, record, write_results

from dmlbench.reports.figures import MAX_BARS, bar_labels, thin_workers
from dmlbench.reports.render import report
from dmlbench.reports.results import load
from dmlbench.reports.sections import rounds


def sweep(engines, workers, sizes, *, natives=True):
    """Made-up k-means records: every engine x worker count x size, ours (with a round
    split) and, where the engine has one, the native library; times that scale."""
    out = []
    for backend in engines:
        for w in workers:
            for n in sizes:
                seconds = n / 1e5 / w + 0.05 * w
                split = partial(made_up_split, rounds=4, workers=w, driver_s=0.01)
                out.append(record(backend=backend, workers=w, n=n, seconds=seconds,
                                  fits=[seconds, seconds * 1.02, seconds * 0.99], split=split))  # fmt: skip
                if natives:
                    out.append(record(backend=backend, workers=w, n=n, seconds=1.3 * seconds,
                                      impl="native"))  # fmt: skip
    return out


def test_a_large_sweep_reports_every_section(tmp_path):
    """3 engines x 8 worker counts x 6 sizes, ours and native (288 records): the report
    builds, every figure is a file, and the bar figures say what they left out."""
    path = write_results(tmp_path / "results.jsonl",
                         sweep(["local", "dask", "spark"], [1, 2, 3, 4, 6, 8, 12, 16],
                               [10_000 * 2**k for k in range(6)]))  # fmt: skip
    written = report([path], tmp_path / "report")
    markdown = written["markdown"].read_text()
    figures = sorted((tmp_path / "report").glob("**/*.png"))
    assert any(f.name.startswith("rounds-") for f in figures), figures
    assert any(f.name.startswith("phases-") for f in figures), figures
    # 3 x 8 of ours + 3 x 8 native at the largest size: 48 phase bars, over MAX_BARS.
    assert "bars left out" in markdown, markdown[:2000]


def test_cases_that_ran_on_the_same_workers_get_a_bar_each(tmp_path):
    """The crash this fixes: bars are named by the workers a case really ran on, so two
    cases (4 workers asked, 2 granted, beside 2 asked) shared one name, and matplotlib
    merged bars of one name into one tick."""
    records = sweep(["dask"], [1, 2, 4], [10_000], natives=False)
    records[2]["n_workers"] = 2  # asked for 4, ran on 2
    [figure] = rounds.figures(load([write_results(tmp_path / "r.jsonl", records)]))
    labels = [t.get_text() for t in figure.figure.axes[0].get_yticklabels()]
    assert labels == ["dask, 1w", "dask, 2w, asked=2", "dask, 2w, asked=4"]


def test_bars_of_one_name_are_told_apart_by_what_differs():
    a, b = record(workers=2), record(workers=2)
    b["case"] = {**b["case"], "n_features": 50}
    assert bar_labels([a, b]) == ["dask, 2w, d=20", "dask, 2w, d=50"]


@pytest.mark.parametrize(
    ("counts", "per_count", "kept", "note"),
    [
        ([1, 2, 4], 3, [1, 2, 4], ""),  # 9 bars: all of them
        # 48 bars: 13 evenly spaced counts of 16 (40 // 3), the ends kept
        (list(range(1, 17)), 3, [1, 2, 3, 5, 6, 7, 9, 10, 11, 12, 13, 15, 16],
         "9 of 48 bars left out: 4, 8, 14 workers"),
        # one count alone is over the limit: the first 40 bars
        ([1, 2], 30, [1, 2], "the first 40 of 60 bars; the table lists every case"),
    ],
)  # fmt: skip
def test_thinning_keeps_the_ends_and_says_what_went(counts, per_count, kept, note):
    rs = [record(workers=w) for w in counts for _ in range(per_count)]
    got, said = thin_workers(rs, MAX_BARS)
    assert sorted({r["n_workers"] for r in got}) == kept
    assert said == note and len(got) <= MAX_BARS



@pytest.mark.slow
def test_a_large_report_draws_its_figures_in_other_processes_alike(tmp_path, dmlbench_cli):
    """Past PARALLEL_FROM_CASES (528 records here) ``dmlbench report`` draws the sections'
    figures in forked processes: the same figure files, byte for byte, and the same page
    as drawn in one process (this one: the session's engines run threads, so it draws
    here)."""
    import re

    from dmlbench.reports.render import PARALLEL_FROM_CASES, _cores

    if _cores() < 2:
        pytest.skip("one core: drawn in one process")
    records = sweep(["local", "dask", "spark"], [1, 2, 3, 4, 6, 8, 12, 16],
                    [10_000 * 2**k for k in range(11)])  # fmt: skip
    assert len(records) >= PARALLEL_FROM_CASES
    path = write_results(tmp_path / "results.jsonl", records)
    here = report([path], tmp_path / "here")
    proc = dmlbench_cli("report", str(path), "-o", str(tmp_path / "forked"))
    assert re.search(r"sections in \d+ processes", proc.stderr), proc.stderr[-2000:]

    def page(directory):
        text = (directory / "report.md").read_text().splitlines()
        return [line for line in text if "; written " not in line]

    assert page(tmp_path / "forked") == page(here["markdown"].parent)
    figures = sorted(p.name for p in (tmp_path / "here" / "figures").glob("*.png"))
    assert figures == sorted(p.name for p in (tmp_path / "forked" / "figures").glob("*.png"))
    for name in figures:
        drawn_here = (tmp_path / "here" / "figures" / name).read_bytes()
        assert (tmp_path / "forked" / "figures" / name).read_bytes() == drawn_here, name
