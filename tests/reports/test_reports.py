"""Reports and compare, from recorded results files: the numbers against hand-computed values.

The records are written with the runner's schema (as `dmlbench run` writes them); the
times are chosen so every speedup, efficiency, slope, crossover and COST below can be
checked by hand.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from made_up import made_up_split, record, write_results

from dmlbench.reports import metrics
from dmlbench.reports.compare import compare, format_changes
from dmlbench.reports.render import report
from dmlbench.reports.results import ReportError, load
from dmlbench.reports.sections import (
    comparison,
    failures,
    placement,
    predictions,
    quality,
    sections,
    size_scaling,
    strong_scaling,
)
from dmlbench.suites.cli.commands import main


# -- the metrics, by hand ---------------------------------------------------------------
def test_metrics_by_hand():
    # 10 s on 1 worker, 6 s on 2: S = 10/6, E = S/2, e = (0.6 - 0.5) / 0.5 = 0.2
    s = metrics.speedup(10.0, 6.0)
    assert s == pytest.approx(1.6666667)
    assert metrics.efficiency(10.0, 6.0, 2) == pytest.approx(0.8333333)
    assert metrics.karp_flatt(s, 2) == pytest.approx(0.2)
    # 4 s on 4 workers: S = 2.5, E = 0.625, e = (0.4 - 0.25) / 0.75 = 0.2
    assert metrics.karp_flatt(metrics.speedup(10.0, 4.0), 4) == pytest.approx(0.2)
    assert metrics.efficiency(10.0, 4.0, 4) == pytest.approx(0.625)
    assert metrics.karp_flatt(1.0, 1) is None
    # against a 2-worker base: 6 s on 2, 4 s on 4 -> S = 1.5, E = 1.5 * 2 / 4 = 0.75
    assert metrics.efficiency(6.0, 4.0, 4, base_workers=2) == pytest.approx(0.75)
    # time doubles per decade of rows: slope log10(2) = 0.30103
    assert metrics.loglog_slope([1e5, 1e6, 1e7], [2.0, 4.0, 8.0]) == pytest.approx(
        0.30103, abs=1e-5
    )
    assert metrics.loglog_slope([1e5, 1e6], [1.0, 10.0]) == pytest.approx(1.0)
    assert metrics.loglog_slope([1e5], [1.0]) is None
    # straight lines in log-log, 1 -> 10 and 10 -> 1 over 1e4 -> 1e6, cross at 1e5
    assert metrics.crossovers([1e4, 1e6], [1.0, 10.0], [10.0, 1.0]) == [pytest.approx(1e5)]
    assert metrics.crossovers([1e4, 1e6], [1.0, 2.0], [3.0, 4.0]) == []
    # COST: scikit-learn 3 s; 5 s on 1 worker, 2.9 s on 2 -> 2; never beaten -> None
    assert metrics.cost({1: 5.0, 2: 2.9}, 3.0) == 2
    assert metrics.cost({1: 8.0, 2: 6.0}, 3.0) is None


# -- tables from a recorded file --------------------------------------------------------
def scaling_run():
    """Two backends, 1 and 2 workers, 3 sizes, natives and scikit-learn, and failures."""
    recs = [
        # dask: strong scaling 10 -> 6 s at n=1e6; size curve 1, 10 (2 workers: 0.7, 6)
        record(backend="dask", workers=1, n=100_000, seconds=1.0),
        record(backend="dask", workers=1, n=1_000_000, seconds=10.0),
        record(backend="dask", workers=2, n=100_000, seconds=0.7),
        record(backend="dask", workers=2, n=1_000_000, seconds=6.0),
        # spark: slower small, faster large: crosses dask on 2 workers
        record(backend="spark", workers=1, n=100_000, seconds=5.0),
        record(backend="spark", workers=1, n=1_000_000, seconds=8.0),
        record(backend="spark", workers=2, n=100_000, seconds=4.0),
        record(backend="spark", workers=2, n=1_000_000, seconds=4.0),
        # the engines' own libraries and scikit-learn on one core
        record(backend="dask", workers=2, n=1_000_000, seconds=12.0, impl="native"),
        record(backend="local", workers=1, n=1_000_000, seconds=7.0, impl="native"),
        # failures: never silently missing
        record(
            backend="ray",
            workers=2,
            n=1_000_000,
            outcome="timeout",
            reason="over the 300 s timeout; cancelled",
        ),
        # its timed fit answered 130 against the reference 100
        record(backend="ray", workers=1, n=1_000_000, seconds=9.0, values=[100.0, 130.0]),
        record(
            backend="ray",
            workers=1,
            n=100_000,
            impl="native",
            outcome="skipped",
            reason="Ray ships no ML algorithms of its own",
        ),
    ]
    return recs


def rows_of(table):
    return [dict(zip(table.columns, row, strict=True)) for row in table.rows]


def test_tables_match_hand_computed_numbers(tmp_path):
    results = load([write_results(tmp_path / "run" / "results.jsonl", scaling_run())])
    (strong,) = strong_scaling.tables(results)
    got = {(r["backend"], r["impl"], r["n_samples"], r["workers"]): r for r in rows_of(strong)}
    dask2 = got[("dask", "dmlbench", 1_000_000, 2)]
    assert dask2["speedup"] == pytest.approx(10 / 6)
    # Every figure carries its bootstrap interval, around the estimate from the medians.
    for name in ("fit median (s)", "speedup", "efficiency", "Karp-Flatt e"):
        assert dask2[name].low <= dask2[name] <= dask2[name].high, name
    assert dask2["efficiency"] == pytest.approx(10 / 6 / 2)
    assert dask2["Karp-Flatt e"] == pytest.approx(0.2)
    assert got[("spark", "dmlbench", 1_000_000, 2)]["speedup"] == pytest.approx(2.0)
    assert got[("spark", "dmlbench", 1_000_000, 2)]["Karp-Flatt e"] == pytest.approx(0.0)
    assert got[("dask", "dmlbench", 1_000_000, 1)]["Karp-Flatt e"] is None

    sizes, cross = size_scaling.tables(results)
    slopes = {(r["series"], r["workers"]): r["log-log slope"] for r in rows_of(sizes)}
    assert slopes[("dask", 1)] == pytest.approx(1.0)  # 1 -> 10 s over one decade
    assert slopes[("spark", 1)] == pytest.approx(0.20412, abs=1e-5)  # log10(8/5)
    assert slopes[("spark", 2)] == pytest.approx(0.0)
    (crossing,) = [r for r in rows_of(cross) if r["workers"] == 2]
    # dask 0.7 -> 6, spark 4 -> 4: log-ratio goes from log(0.175) to log(1.5)
    d0, d1 = __import__("math").log(0.7 / 4), __import__("math").log(6 / 4)
    expected = 10 ** (5 + d0 / (d0 - d1))
    assert crossing["crossover n_samples"] == pytest.approx(expected)
    assert (crossing["faster below"], crossing["faster above"]) == ("dask", "spark")

    compared, cost = comparison.tables(results)
    cmp_rows = {
        (r["n_samples"], r["backend"], r["impl"], r["workers"]): r for r in rows_of(compared)
    }
    dask2 = cmp_rows[(1_000_000, "dask", "dmlbench", 2)]
    assert dask2["x scikit-learn 1 core"] == pytest.approx(6 / 7)
    assert dask2["written-once / native"] == pytest.approx(0.5)
    assert cmp_rows[(100_000, "dask", "dmlbench", 1)]["x scikit-learn 1 core"] is None
    costs = {(r["backend"], r["impl"]): r["COST"] for r in rows_of(cost)}
    assert costs == {
        ("dask", "dmlbench"): "2",
        ("dask", "native"): "not reached (> 2 workers)",
        ("spark", "dmlbench"): "2",
    }

    fails = rows_of(failures.table(results))
    assert [r["outcome"] for r in fails] == ["timeout", "wrong-answer", "skipped"]
    assert fails[0]["reason"] == "over the 300 s timeout; cancelled"
    (checks,) = quality.tables(results)  # one workload: one table
    assert checks.title == "Quality: kmeans on blobs (n_clusters=8)"
    # every case that answered: the ten that pass and ray's wrong answer
    verdicts = {(r["backend"], r["value"]): r["check"] for r in rows_of(checks)}
    assert len(checks.rows) == 11 and verdicts.pop(("ray", 130.0)) == "FAIL"
    assert set(verdicts.values()) == {"pass"}


def test_the_answer_by_hand(tmp_path):
    """The first screen's numbers for scaling_run(), each worked out by hand."""
    from dmlbench.reports.answer import answers

    results = load([write_results(tmp_path / "run" / "results.jsonl", scaling_run())])
    (a,) = answers(results)
    assert a.title == "kmeans on blobs (n_clusters=8)"
    # checked: the 10 ok cases and ray's wrong answer; without a verified answer: that
    # wrong answer and the timeout
    assert (a.checked, a.passed, a.all_good) == (11, 10, False)
    assert a.check_line == (
        "11 answers checked, 10 pass; 2 without a verified answer; 1 skipped. "
        "Each interval covers one launch of 1 timed fit"
    )
    assert a.problems == [
        "ray, 1 worker, 1,000,000 rows: wrong-answer (1 of 2 fits off the reference inertia "
        "100 (tolerance 0.02, relative): timed repeat 1: inertia 130)",
        "ray, 2 workers, 1,000,000 rows: timeout (over the 300 s timeout; cancelled)",
    ]
    assert a.skipped == ["ray native, 1 worker, 100,000 rows: skipped (Ray ships no ML "
                         "algorithms of its own)"]  # fmt: skip
    # The same reason at several sizes and worker counts: said once.
    more = [record(backend="ray", workers=p, n=n, impl="native", outcome="skipped",
                   reason="Ray ships no ML algorithms of its own")
            for p in (1, 2) for n in (100_000, 1_000_000)]  # fmt: skip
    (b,) = answers(load([write_results(tmp_path / "more.jsonl", more)]))
    assert b.skipped == ["ray native, 4 cases (1-2 workers, 100,000-1,000,000 rows): skipped "
                         "(Ray ships no ML algorithms of its own)"]  # fmt: skip
    rows = {r["n_samples"]: r for r in rows_of(a.table)}
    # 1e6 rows, 1 worker: dask 10 s, spark 8 s, scikit-learn 7 s; 2 workers: dask 6, spark 4,
    # dask-ml 12
    big = rows[1_000_000]
    one_fit = " (1 fit: no interval, no winner called)"  # the lead may be noise
    assert big["fastest, 1 worker"] == "scikit-learn (1 core) 7 s" + one_fit
    assert big["fastest, 2 workers"] == "spark 4 s" + one_fit
    # one fit each: no spread to show
    assert big["best speedup"] == "spark: 2×, 2 vs 1 workers"  # 8 / 4 (dask: 10 / 6)
    assert big["its efficiency"] == "1.00"
    assert big["COST"] == "dask 2; spark 2; the others: not reached within 2 workers"
    assert big["written-once / native"] == "dask: 0.5× faster (2 workers)"  # 6 / 12
    small = rows[100_000]
    assert small["fastest, 1 worker"] == "dask 1 s" + one_fit
    assert small["fastest, 2 workers"] == "dask 0.7 s" + one_fit
    assert small["COST"] is None and small["written-once / native"] is None  # no reference


def test_the_answer_calls_overlapping_intervals_a_tie(tmp_path):
    """Two engines whose median intervals overlap: a tie, named beside the fastest; one
    clear of it is not named."""
    from dmlbench.reports.answer import answers

    fits = {"dask": [1.00, 1.02, 0.98, 1.05, 0.97, 1.01, 0.99],
            "ray": [1.03, 1.06, 1.01, 1.08, 0.99, 1.04, 1.02],
            "spark": [2.0, 2.1, 1.9, 2.2, 2.05, 1.95, 2.0]}  # fmt: skip
    recs = [record(backend=b, workers=2, seconds=sorted(f)[3], fits=f) for b, f in fits.items()]
    results = load([write_results(tmp_path / "results.jsonl", recs)])
    (a,) = answers(results)
    (row,) = rows_of(a.table)
    assert row["fastest, 2 workers"].startswith("dask 1 [")
    assert row["fastest, 2 workers"].endswith("s; tie: ray")
    assert (
        a.all_good
        and a.check_line
        == "3 answers checked, 3 pass. Each interval covers one launch of 7 timed fits"
    )
    # Twice the speed from twice the workers and more: flagged, not celebrated.
    recs = [
        record(backend="dask", workers=1, seconds=10.0, fits=[10.0, 10.1, 9.9, 10.2, 9.8, 10.0]),
        record(backend="dask", workers=2, seconds=2.0, fits=[2.0, 2.1, 1.9, 2.05, 1.95, 2.0]),
    ]
    (a,) = answers(load([write_results(tmp_path / "odd.jsonl", recs)]))
    (row,) = rows_of(a.table)
    assert row["its efficiency"].endswith("(super-linear: check the fewest workers' fits)")


def test_report_files_from_a_run_with_failures(tmp_path):
    path = write_results(tmp_path / "run" / "results.jsonl", scaling_run())
    overhead = tmp_path / "overhead.json"
    overhead.write_text(
        json.dumps(
            {
                "results": [
                    {
                        "backend": "dask",
                        "n_workers": 2,
                        "startup_s": 0.9,
                        "round": {"median_s": 0.002, "p10_s": 0.0015, "p90_s": 0.003},
                    },
                    {"backend": "spark", "error": "BackendUnavailable: no Java"},
                ]
            }
        )
    )
    out = tmp_path / "report"
    assert main(["report", str(path.parent), str(overhead), "-o", str(out)]) == 0
    md = (out / "report.md").read_text()
    # The answer first, then the figures, then the details; every case's check last.
    order = ["## The answer", "### kmeans on blobs (n_clusters=8)", "## Figures",
             "### Strong scaling", "### Size scaling", "### Convergence", "### Round overhead",
             "## Failures", "## Strong scaling", "## Size scaling", "## Engine comparison",
             "## Phases", "## Round overhead", "## Environment", "## Quality"]  # fmt: skip
    at = [md.find("\n" + heading + "\n") for heading in order]
    assert -1 not in at and at == sorted(at), dict(zip(order, at, strict=True))
    assert (
        "**✗ 11 answers checked, 10 pass; 2 without a verified answer; 1 skipped. Each "
        "interval covers one launch of 1 timed fit**" in md
    )
    assert "- ✗ ray, 2 workers, 1,000,000 rows: timeout (over the 300 s timeout; cancelled)" in md
    assert "**Quality: kmeans on blobs (n_clusters=8)**" in md
    assert "| timeout | kmeans on blobs (n_clusters=8) | ray |" in md
    assert "| dask | 2 | 0.9 | 2 | 1.5 | 3 |" in md  # overhead in ms
    assert "BackendUnavailable: no Java" in md
    pngs = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert {p.removesuffix(".png").split("-")[0] for p in pngs} == {
        "strong",
        "size",
        "compare",
        "phases",
        "convergence",
        "overhead",
    }
    for png in pngs:
        assert f"(figures/{png})" in md
    # Under each figure, what to look at in it: its section's caption.
    captions = {s.figure_title or s.title: s.caption for s in sections() if s.figures}
    shown = md.split("\n## Figures\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in shown.splitlines() if line.strip()]
    heading, captioned = None, 0
    for line, after in zip(lines, [*lines[1:], ""], strict=True):
        if line.startswith("### "):
            heading = line.removeprefix("### ")
        elif line.endswith(".png)"):  # an image (a two-line title ends on the next line)
            assert after == f"_{captions[heading]}_", (heading, after)
            captioned += 1
    assert captioned == len(pngs)
    html = (out / "report.html").read_text()
    assert html.count('src="data:image/png;base64,') == len(pngs)
    strong_caption = strong_scaling.SECTION.caption
    assert f'alt="Strong scaling: kmeans on blobs (n_clusters=8). {strong_caption}"' in html
    assert "http://" not in html and "https://" not in html and "<script" not in html
    with (out / "summary.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 13
    dask2 = next(
        r for r in rows if r["case_id"].startswith("kmeans/blobs/dmlbench/dask/w2/n1000000")
    )
    assert float(dask2["speedup"]) == pytest.approx(10 / 6)
    assert float(dask2["efficiency"]) == pytest.approx(10 / 12)


def test_results_as_dataframes(tmp_path):
    """load_results: one row per case, every documented column, the numbers of the file;
    load_fits: one row per timed fit; summary.csv is the same frame."""
    from dmlbench.reports import load_fits, load_results
    from dmlbench.reports.frame import CASE_COLUMNS, FIT_COLUMNS

    recs = scaling_run()
    recs[0] = record(backend="dask", workers=1, n=100_000, seconds=1.0, fits=[1.1, 1.0, 0.9])
    path = write_results(tmp_path / "run" / "results.jsonl", recs)
    df = load_results(path.parent)
    assert list(df.columns) == list(CASE_COLUMNS) and len(df) == len(recs)
    assert df["case_id"].is_unique
    dask2 = df[(df.backend == "dask") & (df.impl == "dmlbench") & (df.n_workers == 2)
               & (df.n_samples == 1_000_000)].iloc[0]  # fmt: skip
    assert dask2.fit_median_s == 6.0 and dask2.speedup == pytest.approx(10 / 6)
    assert dask2.efficiency == pytest.approx(10 / 12) and dask2.quality_ok
    base = df[(df.backend == "dask") & (df.impl == "dmlbench") & (df.n_workers == 1)]
    assert base.speedup.isna().all()  # the base of its own series
    timeout = df[df.outcome == "timeout"].iloc[0]
    assert timeout.reason == "over the 300 s timeout; cancelled" and pd_isna(timeout.fit_median_s)
    assert str(df.n_workers.dtype) == "Int64" and str(df.finished_at.dtype).startswith("datetime")
    # grouping a notebook would do: the fastest implementation per size on 2 workers
    fastest = df[df.n_workers == 2].dropna(subset=["fit_median_s"]).sort_values(
        "fit_median_s").groupby("n_samples").first()  # fmt: skip
    assert fastest.loc[1_000_000, "backend"] == "spark"

    fits = load_fits(path)
    assert list(fits.columns) == list(FIT_COLUMNS)
    # one fit per answered case (ray's wrong answer too), three for the first
    assert len(fits) == 11 + 2
    first = fits[fits.case_id == recs[0]["case_id"]]
    assert first.fit_s.tolist() == [1.1, 1.0, 0.9] and first.fit.tolist() == [0, 1, 2]

    report([path], tmp_path / "rep")
    import pandas as pd

    csv_frame = pd.read_csv(tmp_path / "rep" / "summary.csv")
    assert list(csv_frame.columns) == list(CASE_COLUMNS) and len(csv_frame) == len(df)
    assert csv_frame.speedup.tolist() == pytest.approx(df.speedup.tolist(), nan_ok=True)
    with pytest.raises(ReportError, match="nothing.jsonl: no such results file"):
        load_results(tmp_path / "nothing.jsonl")


def pd_isna(value) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def test_strong_scaling_figure_draws_the_prediction_past_the_measured_workers(tmp_path):
    """Four worker counts: the USL is fitted and drawn past them, labelled a prediction,
    its band around the fitted curve; a series at one worker count is a reference line."""
    from dmlbench.reports import figures as figs
    from dmlbench.reports.scaling_models import usl

    rng = np.random.default_rng(0)
    recs = []
    for p in (1, 2, 4, 8):
        fits = list(1 / usl(p, 0.05, 0.002, 1.0) * rng.normal(1, 0.01, size=7))
        recs.append(record(backend="ray", workers=p, seconds=float(np.median(fits)), fits=fits))
    recs.append(record(backend="local", workers=1, seconds=0.9))
    results = load([write_results(tmp_path / "results.jsonl", recs)])
    (fig,) = strong_scaling.figures(results)
    ax_time, ax_speedup = fig.figure.axes
    labels = [line.get_label() for line in ax_speedup.get_lines()]
    assert "ray: usl prediction" in labels and "ideal" in labels
    (predicted,) = [line for line in ax_speedup.get_lines() if "prediction" in line.get_label()]
    ws, speedups = predicted.get_data()
    assert ws[0] == 8 and ws[-1] == 8 * strong_scaling.PREDICTION_REACH
    truth = usl(np.asarray(ws), 0.05, 0.002, 1.0) / usl(1, 0.05, 0.002, 1.0)
    assert speedups == pytest.approx(truth, rel=0.1)
    (band,) = ax_speedup.collections[-1:]  # the filled interval around it
    assert band.get_paths()[0].vertices[:, 0].max() == pytest.approx(ws[-1])
    assert "local, 1w (reference)" in [line.get_label() for line in ax_time.get_lines()]
    figs.pyplot().close(fig.figure)


def test_every_section_module_is_listed_once_and_render_walks_the_list():
    """The sections are the modules of dmlbench.reports.sections, each listed once in
    ORDER, and the details of a report are their titles in that order."""
    import pkgutil

    from dmlbench.reports import sections as package

    modules = {m.name for m in pkgutil.iter_modules(package.__path__)}
    assert sorted(package.ORDER) == sorted(modules) and len(set(package.ORDER)) == len(modules)
    titles = [s.title for s in sections()]
    assert titles[:2] == ["Failures", "Strong scaling"] and titles[-1] == "Quality"
    assert len(set(titles)) == len(titles)


def test_a_section_plugs_in_with_a_module_and_one_line(tmp_path, monkeypatch):
    """A new section is a module with its SECTION (title, what to look at, its table and
    its figure) and one line in ORDER: the report shows it where the line puts it, in
    report.md and report.html alike, its figure among the figures with its caption; a
    module that is not listed is not shown."""
    import sys
    import types
    from collections import Counter

    from dmlbench.reports import sections as package
    from dmlbench.reports.figures import Figure, pyplot
    from dmlbench.reports.tables import Table

    def cases_per_backend(results):
        counts = Counter(r["case"]["backend"] for r in results.cases)
        return [Table("Cases per backend", ["backend", "cases"], sorted(map(list, counts.items())))]

    def bars(results):
        fig, ax = pyplot().subplots()
        ax.bar(["dask", "spark"], [1, 2])
        return [Figure("toy-cases", "Cases per backend drawn", fig)]

    toy = types.ModuleType("dmlbench.reports.sections.toy")
    toy.SECTION = package.Section(
        "Cases per backend", cases_per_backend, "Look at the busiest backend.", bars,
        caption="One bar per backend.",
    )  # fmt: skip
    monkeypatch.setitem(sys.modules, toy.__name__, toy)
    path = write_results(tmp_path / "run" / "results.jsonl", scaling_run())
    report([path], tmp_path / "without")
    assert "Cases per backend" not in (tmp_path / "without" / "report.md").read_text()

    order = list(package.ORDER)
    order.insert(order.index("quality"), "toy")  # the one line
    monkeypatch.setattr(package, "ORDER", tuple(order))
    out = tmp_path / "with"
    report([path], out)
    md = (out / "report.md").read_text()
    headings = ["## Figures", "### Phases", "### Cases per backend", "## Environment",
                "## Cases per backend", "## Quality"]  # fmt: skip
    at = [md.find("\n" + heading + "\n") for heading in headings]
    assert -1 not in at and at == sorted(at), dict(zip(headings, at, strict=True))
    assert "## Cases per backend\n\nLook at the busiest backend.\n\n**Cases per backend**" in md
    assert "| dask | 5 |" in md and "| spark | 4 |" in md  # dask: 4 of ours, 1 native
    assert "![Cases per backend drawn](figures/toy-cases.png)\n\n_One bar per backend._" in md
    assert (out / "figures" / "toy-cases.png").stat().st_size > 0
    html = (out / "report.html").read_text()
    parts = ["<h3>Phases</h3>", '<img alt="Cases per backend drawn. One bar per backend."',
             "<h2>Environment</h2>", "<h2>Cases per backend</h2>",
             "<p>Look at the busiest backend.</p>", "<caption>Cases per backend</caption>",
             "<td class=text>dask</td><td>5</td>", "<h2>Quality</h2>"]  # fmt: skip
    at = [html.find(part) for part in parts]
    assert -1 not in at and at == sorted(at), dict(zip(parts, at, strict=True))


def test_a_sweep_over_n_features_keeps_each_curve_at_one_n_features(tmp_path):
    """Two n_features at the same sizes and workers: a series per n_features, each its
    own speedup and size curve (d= in the size labels), and the bars of the stacked
    figures named by d (one name would merge them)."""
    from dmlbench.reports.records import case_id

    recs = []
    for d, scale in ((20, 1.0), (40, 3.0)):
        for p in (1, 2):
            for n in (1000, 4000):
                r = record(backend="dask", workers=p, n=n, seconds=scale * n / 1000 / p**0.5)
                r["case"]["n_features"] = d
                r["case_id"] = case_id(r["case"])
                recs.append(r)
    results = load([write_results(tmp_path / "results.jsonl", recs)])
    (strong,) = strong_scaling.tables(results)
    assert [row["speedup"] for row in rows_of(strong)] == pytest.approx([1, 2**0.5] * 4)
    (sizes,) = size_scaling.tables(results)  # the curves never cross: no crossover table
    assert {row["series"] for row in rows_of(sizes)} == {"dask, d=20", "dask, d=40"}
    out = report([tmp_path], tmp_path / "report")
    md = out["markdown"].read_text()
    assert "(figures/phases-kmeans-on-blobs--n-clusters-8.png)" in md
    assert "(figures/rounds-" not in md  # no split recorded: nothing to draw


def test_report_of_one_backend_one_worker_count_one_repeat(tmp_path):
    """No strong scaling to show (one worker count): the section is left out, the rest stays."""
    recs = [record(backend="ray", workers=2, n=n, seconds=s) for n, s in ((1000, 0.5), (4000, 1.0))]
    path = write_results(tmp_path / "results.jsonl", recs)
    out = tmp_path / "rep"
    report([path], out)
    md = (out / "report.md").read_text()
    assert "## Strong scaling" not in md and "## Size scaling" in md
    assert "| ray | 2 | 2 | 0.5 | 1 | 0.5 |" in md  # slope log(2)/log(4) = 0.5
    assert "## Failures" not in md  # none to list


def test_report_errors_are_explained(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(record()) + '\nnot json\n{"x": 1}\n')
    with pytest.raises(ReportError, match=r"bad.jsonl:2: not JSON"):
        load([bad])
    assert main(["report", str(tmp_path / "missing.jsonl")]) == 2
    assert "missing.jsonl: no such results file" in capsys.readouterr().err
    other = tmp_path / "other.jsonl"
    other.write_text('{"schema_version": 99, "case": {}}\n')
    with pytest.raises(ReportError, match=r"other.jsonl:1: not a dmlbench case record"):
        load([other])
    # a run killed mid-write leaves a partial last line: noted, not fatal
    killed = write_results(tmp_path / "k.jsonl", [record()])
    killed.write_text(killed.read_text() + '{"outcome": "o')
    assert "incomplete last line ignored" in load([killed]).notes[0]


# -- compare ----------------------------------------------------------------------------
def test_compare_flags_regressions_beyond_the_noise(tmp_path, capsys):
    steady = [0.99, 1.0, 1.01, 1.0, 0.995]
    a = write_results(
        tmp_path / "a.jsonl",
        [
            record(n=1, fits=steady),  # 1.5x slower: regression
            record(n=2, fits=[0.8, 1.0, 1.4, 0.9, 1.0]),  # 1.3x but its fits vary: unstable
            record(n=3, fits=[2 * t for t in steady]),  # 2x faster: improvement
            record(n=4, seconds=1.0),  # ok -> failed: regression
            record(n=5, seconds=1.0),  # only in A
            record(n=7, fits=steady),  # 1.12x, interval inside 1 ± 10 % reaches below 1.1
            record(n=8, fits=[1.0, 1.0]),  # two fits: no interval worth judging
        ],
    )
    b = write_results(
        tmp_path / "b.jsonl",
        [
            record(n=1, fits=[1.5 * t for t in steady]),
            record(n=2, fits=[1.3, 1.3, 1.31, 1.29, 1.3]),
            record(n=3, fits=steady),
            record(n=4, outcome="failed", reason="engine failure: worker died"),
            record(n=6, seconds=1.0),  # only in B
            record(n=7, fits=[1.05, 1.2, 1.12, 1.08, 1.15]),
            record(n=8, fits=[2.0, 2.0]),
        ],
    )
    verdicts = {c.case_id.split("/")[5]: c for c in compare([a], [b], threshold=0.1)}
    assert {k: v.verdict for k, v in verdicts.items()} == {
        "n1": "regression",
        "n2": "unstable",
        "n3": "improvement",
        "n4": "regression",
        "n5": "only in A",
        "n6": "only in B",
        "n7": "same",  # its median is 1.12x, but the interval does not exclude 1.1
        "n8": "not comparable",
    }
    assert "too few timed fits (2 in A, 2 in B" in verdicts["n8"].detail
    assert verdicts["n1"].ratio == pytest.approx(1.5)
    assert verdicts["n1"].ratio.low > 1.1 and verdicts["n7"].ratio.low < 1.1 < verdicts["n7"].ratio
    fits = __import__("numpy").array([0.8, 1.0, 1.4, 0.9, 1.0])
    assert verdicts["n2"].noise == pytest.approx(fits.std(ddof=1) / fits.mean())
    assert "ok -> failed: engine failure" in verdicts["n4"].detail
    assert main(["compare", str(a), str(b)]) == 1
    plain = capsys.readouterr().out
    assert "regression" in plain and "2 regression, 1 improvement" in plain
    assert main(["compare", str(a), str(a), "--format", "markdown"]) == 0
    md = capsys.readouterr().out
    assert md.startswith("| case | A median (s) |") and "1 unstable" in md
    # a higher threshold absorbs the 1.5x change
    loose = compare([a], [b], threshold=0.6)
    assert [
        c.verdict for c in loose if c.case_id.endswith("n1/d20/" + json.dumps({"n_clusters": 8}))
    ] == ["same"]
    assert "B/A" in format_changes(loose)


def test_compare_pairs_interleaved_runs(tmp_path, capsys):
    """Runs interleaved in time (A1, B1, A2, B2) are compared pair by pair: the machine's
    drift between the pairs, which makes two single runs look 1.3x apart, cancels within
    each pair; a change present in every pair is found, and "unstable" reads each run's
    own fits, not the drift between runs. Unequal numbers of runs pool each side."""
    steady = [0.99, 1.0, 1.01, 1.0, 0.995]
    speeds = {"a1": 1.0, "b1": 1.0, "a2": 1.3, "b2": 1.3}  # the machine slowed midway
    for run, speed in speeds.items():
        gain = 1.5 if run.startswith("b") else 1.0  # n2: B is 1.5x slower in both pairs
        write_results(tmp_path / run / "results.jsonl", [
            record(n=1, fits=[speed * t for t in steady]),
            record(n=2, fits=[gain * speed * t for t in steady]),
        ])  # fmt: skip
    single = {c.case_id.split("/")[5]: c for c in compare([tmp_path / "a1"], [tmp_path / "b2"])}
    assert single["n1"].verdict == "regression"  # the drift alone, called a regression
    a, b = [tmp_path / "a1", tmp_path / "a2"], [tmp_path / "b1", tmp_path / "b2"]
    pooled = {c.case_id.split("/")[5]: c for c in compare(a, b)}
    assert pooled["n1"].verdict == "same" and pooled["n1"].noise < 0.01
    assert pooled["n2"].verdict == "regression" and pooled["n2"].ratio == pytest.approx(1.5)
    assert pooled["n2"].ratio.low > 1.4 and pooled["n1"].ratio.high < 1.05
    # Three runs against two: no pairs, each side's runs pooled as launches (the drift
    # now inside the interval: n1 is not called a change).
    unpaired = {c.case_id.split("/")[5]: c for c in compare([*a, tmp_path / "a2"], b)}
    assert unpaired["n1"].verdict == "same"
    argv = ["compare", f"{a[0]},{a[1]}", f"{b[0]},{b[1]}"]
    assert main(argv) == 1
    assert "1 regression" in capsys.readouterr().out


# -- a real browser ---------------------------------------------------------------------
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)
def test_html_report_renders_in_headless_chromium(tmp_path):
    """Open report.html in headless Chromium, offline, as a new reader would: on a laptop's
    first screen (1280 x 800) the answer is there, failures in red; further down the
    embedded figures render."""

    out = tmp_path / "report"
    report([write_results(tmp_path / "results.jsonl", scaling_run())], out)
    first = screenshot(out / "report.html", tmp_path, 1280, 800)
    assert first.shape[:2] == (800, 1280)
    # the answer's box (#eef4fb) fills much of the first screen, and the red line saying
    # that cases gave no verified answer (#f9cfc7) is on it
    assert share_of(first, "#eef4fb") > 0.2, share_of(first, "#eef4fb")
    assert share_of(first, "#f9cfc7") > 0.002, share_of(first, "#f9cfc7")
    page = screenshot(out / "report.html", tmp_path, 1200, 2400)
    # the embedded figures rendered: dask's blue (#0072B2) is on screen, from a figure only
    assert share_of(page, "#0072B2") * page.shape[0] * page.shape[1] > 200
    assert (page.std(axis=(0, 1)) > 0.05).all()  # not a blank page


def screenshot(html: Path, tmp_path: Path, width: int, height: int):
    """What headless Chromium shows of ``html`` in a ``width`` x ``height`` window (RGB)."""
    from matplotlib.image import imread

    shot = tmp_path / f"shot-{width}x{height}.png"
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--hide-scrollbars",
            f"--window-size={width},{height}",
            f"--screenshot={shot}",
            html.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return imread(shot)[..., :3]


def share_of(pixels, colour: str) -> float:
    """The share of ``pixels`` within 1 % of ``colour`` (``"#rrggbb"``)."""
    import numpy as np

    rgb = np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    return float((np.abs(pixels - rgb).max(axis=2) < 0.01).mean())


def test_pytest_benchmark_export_keeps_every_fit_of_verified_answers_only(tmp_path):
    from dmlbench.reports.pytest_benchmark_export import to_pytest_benchmark

    ok = record(n=1, fits=[1.0, 1.2, 1.1])
    wrong = record(n=2, fits=[0.5, 0.5], values=[100.0, 130.0, 100.0])  # repeat 1 off
    assert wrong["outcome"] == "wrong-answer"
    assert wrong["reason"].startswith("1 of 3 fits off the reference inertia 100")
    doc = to_pytest_benchmark([ok, wrong])
    (bench,) = doc["benchmarks"]
    assert bench["extra_info"]["case_id"] == ok["case_id"]
    assert bench["stats"]["data"] == [1.0, 1.2, 1.1] and bench["stats"]["rounds"] == 3
    assert bench["stats"]["median"] == pytest.approx(1.1)


def test_predictions_past_the_measured_workers_say_which_model(tmp_path):
    """Three measured counts: a USL fit; two (this machine): measured components, never a
    curve through two points."""
    from dmlbench.reports.scaling_models import usl

    truth = (0.05, 0.01, 1.0)
    three = [  # four counts: the USL's three parameters and one point to spare
        record("kmeans", "spark", w, fits=[1 / usl(w, *truth) * f for f in (0.99, 1.0, 1.01)])
        for w in (1, 2, 4, 8)
    ]
    two = [record("kmeans", "dask", w, fits=[t * f for f in (0.99, 1.0, 1.01)])
           for w, t in ((1, 4.0), (2, 2.2))]  # fmt: skip
    path = write_results(tmp_path / "r.jsonl", three + two)
    overhead = tmp_path / "overhead.json"
    rounds = {1: 0.002, 2: 0.003, 4: 0.005, 8: 0.009}
    overhead.write_text(json.dumps({"results": [
        {"backend": "dask", "n_workers": w, "startup_s": 1.0,
         "round": {"median_s": s, "p10_s": s, "p90_s": s}} for w, s in rounds.items()
    ]}))  # fmt: skip
    (table,) = predictions.tables(load([path, overhead]))
    rows = {(r["backend"], r["workers"]): r for r in rows_of(table)}
    assert {w for b, w in rows if b == "spark"} == {16, 32, 64}
    assert {rows[("spark", w)]["model"] for w in (16, 64)} == {"usl"}
    s16 = rows[("spark", 16)]["predicted speedup"]
    true16 = usl(16, *truth) / usl(1, *truth)
    assert s16 == pytest.approx(true16, rel=0.02) and s16.low <= true16 <= s16.high
    assert "peak N*" in rows[("spark", 16)]["model parameters"]
    # Dask measured at 1 and 2: components at 4 and 8 from the measured rounds, and the
    # model set beside the measured 2 workers first.
    assert {w for b, w in rows if b == "dask"} == {2, 4, 8}
    check = rows[("dask", 2)]
    n_iter = three[0]["n_iter"]
    predicted2 = ((4.0 / n_iter - 0.002) / 2 + 0.003) * n_iter
    assert check["model"] == "components (check)"
    assert check["predicted fit (s)"] == pytest.approx(predicted2)
    assert f"off by {predicted2 / 2.2 - 1:+.0%}" in check["model parameters"]
    d8 = rows[("dask", 8)]
    expected = ((4.0 / n_iter - 0.002) / 8 + 0.009) * n_iter
    assert d8["model"] == "components" and d8["predicted fit (s)"] == pytest.approx(expected)
    assert "PREDICTIONS" in table.note


def test_component_predictions_carry_the_measured_driver_rounds_and_imbalance(tmp_path):
    """The 1-worker fit's driver time and rounds per iteration, the straggler measured at
    2 workers, and whole blocks per worker: past 8 workers, 8 blocks leave some idle."""
    # Each fit: 4 iterations of 2 rounds, the driver's 2 ms per iteration outside them.
    hosts = ["127.0.0.1"] * 8
    one = record("als", "dask", 1, fits=[4.0, 4.1, 3.9], block_hosts=hosts,
                 split=lambda s: made_up_split(s, rounds=8, driver_s=0.008))  # fmt: skip
    two = record("als", "dask", 2, fits=[2.4, 2.5, 2.3], block_hosts=hosts,
                 split=lambda s: made_up_split(s, rounds=8, workers=2, driver_s=0.008,
                                               straggler=1.1))  # fmt: skip
    assert one["round_split"]["driver_s"] == pytest.approx(0.002)
    assert two["round_split"]["rounds_per_iter"] == 2.0
    assert two["round_split"]["straggler"] == pytest.approx(1.1)
    path = write_results(tmp_path / "r.jsonl", [one, two])
    overhead = tmp_path / "overhead.json"
    rounds = {1: 0.002, 2: 0.003, 4: 0.005, 8: 0.009, 16: 0.02}
    overhead.write_text(json.dumps({"results": [
        {"backend": "dask", "n_workers": w, "startup_s": 1.0,
         "round": {"median_s": s, "p10_s": s, "p90_s": s}} for w, s in rounds.items()
    ]}))  # fmt: skip
    (table,) = predictions.tables(load([path, overhead]))
    rows = {r["workers"]: r for r in rows_of(table)}
    k = one["n_iter"]
    compute = 4.0 / k - 0.002 - 2 * 0.002  # less the driver and two rounds at 1 worker

    def expected(p, share):
        return (0.002 + compute * share + 2 * rounds[p]) * k

    assert rows[2]["predicted fit (s)"] == pytest.approx(expected(2, 1.1 * 4 / 8))
    assert rows[4]["predicted fit (s)"] == pytest.approx(expected(4, 1.1 * 2 / 8))
    assert rows[8]["predicted fit (s)"] == pytest.approx(expected(8, 1.1 / 8))
    assert rows[16]["predicted fit (s)"] == pytest.approx(expected(16, 1.1 / 8))  # 8 idle
    assert "8 blocks, straggler 1.10" in rows[16]["model parameters"]
    assert "2 round(s)" in rows[16]["model parameters"]


RESIDENT = {1: 0.002, 2: 0.003, 8: 0.009}


@pytest.mark.parametrize(
    "measured, ran",
    [
        # `dmlbench overhead` measured both of Dask's patterns: the one the case ran.
        ({"resident": RESIDENT, "tasks": {1: 0.02, 2: 0.03, 8: 0.09}}, "resident"),
        # A measurement naming no pattern, a backend describing its one way in words.
        ({None: RESIDENT}, "one job of n_workers tasks per verb"),
    ],
)
def test_component_predictions_use_the_overheads_of_the_engine_the_case_ran(
    tmp_path, measured, ran
):
    """A case that names no pattern ran its backend's default, as the backend recorded:
    its rounds are that pattern's (not none for the ambiguity, not the tasks pattern's);
    an overhead file without patterns still serves it."""
    one = record("kmeans", "dask", 1, fits=[4.0, 4.1, 3.9])
    two = record("kmeans", "dask", 2, fits=[2.2, 2.3, 2.1])
    for r in (one, two):
        r["backend_info"] = {"pattern": ran}
    path = write_results(tmp_path / "r.jsonl", [one, two])
    overhead = tmp_path / "overhead.json"
    overhead.write_text(json.dumps({"results": [
        {"backend": "dask", "n_workers": w, "startup_s": 1.0,
         "round": {"median_s": s, "p10_s": s, "p90_s": s}, **({"pattern": p} if p else {})}
        for p, by_w in measured.items() for w, s in by_w.items()
    ]}))  # fmt: skip
    (table,) = predictions.tables(load([path, overhead]))
    rows = {r["workers"]: r for r in rows_of(table)}
    k = one["n_iter"]
    expected = ((4.0 / k - RESIDENT[1]) / 8 + RESIDENT[8]) * k
    assert rows[8]["model"] == "components"
    assert rows[8]["predicted fit (s)"] == pytest.approx(expected)


def test_compare_notes_when_the_machine_ran_at_another_speed(tmp_path):
    from dmlbench.reports.compare import machine_note

    def run(name, kernel_s, load):
        r = record(n=1, fits=[1.0] * 5)
        r["environment"] = {**r["environment"], "calibration": {"median_s": kernel_s}}
        r["machine"] = {"before": {"loadavg": [load, 0.0, 0.0]}}
        return write_results(tmp_path / f"{name}.jsonl", [r])

    a, same, slow = run("a", 0.012, 1.1), run("same", 0.013, 1.2), run("slow", 0.020, 2.7)
    assert machine_note([a], [same]) is None
    note = machine_note([a], [slow])
    assert "12.0 ms in A (load 1.1) and 20.0 ms in B (load 2.7)" in note


def test_where_it_ran_names_the_hosts_and_the_timed_fits_that_rebuilt_blocks(tmp_path):
    """On one machine the table lists only the cases whose timed fits rebuilt blocks;
    once a run left the machine, every case, with its hosts and blocks per host."""
    here = ["127.0.0.1"] * 4
    local = record(workers=2, block_hosts=here)  # nothing rebuilt
    # the cold fit placed all 4 blocks; of the two timed fits, the second rebuilt 3
    rebuilt = record(workers=1, n=200_000, fits=[1.0, 1.0], rebuilt=[4, 0, 3], block_hosts=here)
    results = load([write_results(tmp_path / "a" / "results.jsonl", [local, rebuilt])])
    (row,) = rows_of(placement.table(results))
    assert row["workers"] == 1 and row["rebuilt in timed fits"] == "3 in 1 of 2 fits"
    far_hosts = ["10.0.0.2", "10.0.0.2", "10.0.0.3", "10.0.0.3", "10.0.0.3"]
    remote = record(workers=2, n=300_000, rebuilt=[5, 0], block_hosts=far_hosts)
    remote["backend_info"]["workers"] = [{"host": "10.0.0.2"}, {"host": "10.0.0.3"}]
    native = record(workers=2, impl="native")  # a library's data: no placement of ours
    results = load([write_results(tmp_path / "b" / "results.jsonl",
                                  [local, rebuilt, remote, native])])  # fmt: skip
    rows = rows_of(placement.table(results))
    assert len(rows) == 3
    (far,) = [r for r in rows if "10.0.0.2" in r["hosts"]]
    assert far["hosts"] == "10.0.0.2, 10.0.0.3" and far["rebuilt in timed fits"] == 0
    assert far["blocks per host"] == "10.0.0.2: 2, 10.0.0.3: 3"
    report([tmp_path / "b"], tmp_path / "out")
    assert "## Where it ran" in (tmp_path / "out" / "report.md").read_text()


def test_the_answer_says_what_each_interval_covers():
    from dmlbench.reports.answer import _coverage

    three = {"fit_s_by_launch": [[1.0, 1.1], [1.0, 1.2, 1.1], [0.9, 1.0]]}
    assert _coverage([three]) == (
        "Each interval covers 3 launches (interleaved in time, engines started anew each "
        "round) of 2-3 timed fits each"
    )
    assert _coverage([{"phases": {"fit_s": [1.0, 1.1]}}]) == (
        "Each interval covers one launch of 2 timed fits"
    )


def test_ratios_of_interleaved_launches_are_paired_launch_by_launch():
    from dmlbench.reports import stats
    from dmlbench.reports.results import ratio_of

    # Launch i of each side ran in round i of one run: the machine drifted 1.0, 1.3, 1.6
    # between rounds and B is 0.5 of A in every round. Paired, the ratio is 0.5 exactly;
    # pooled, the drift would widen it.
    def case(launches, session="s1"):
        rounds = [{"session": session, "round": i} for i in range(len(launches))]
        return {"fit_s_by_launch": launches, "launches": rounds}

    a = case([[1.0, 1.0], [1.3, 1.3], [1.6, 1.6]])
    b = case([[0.5, 0.5], [0.65, 0.65], [0.8, 0.8]])
    paired = ratio_of(b, a)
    assert paired == pytest.approx(0.5) and paired.high - paired.low < 1e-9
    pooled = stats.ratio_interval(b["fit_s_by_launch"], a["fit_s_by_launch"])
    assert (
        pooled.high - pooled.low > 0.1 and ratio_of(b, case(a["fit_s_by_launch"], "s2")) == pooled
    )
    # Unequal launches: nothing to pair, the pooled bootstrap.
    short = case(b["fit_s_by_launch"][:2])
    assert ratio_of(short, a) == stats.ratio_interval(
        short["fit_s_by_launch"], a["fit_s_by_launch"]
    )
