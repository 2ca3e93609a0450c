"""Smoke run of scripts/quickstart.py: ``--quick`` runs every section and writes every figure.

The quick sizes are small (2,000 NUTS draws, 100 SVGD particles, 4,000 data rows...), so the numbers
checked here are loose sanity bounds, not statistical tests: that every section ran and printed what it
should, with values that can only come out of a working fit.
"""
import contextlib
import importlib.util
import io
import re
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("sklearn")  # the iris section; the script skips it without scikit-learn

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "quickstart.py"

FIGURES = [
    "01_nuts_trace.png", "02_advi_trace.png", "03_hist_relative.png", "04_hist_absolute.png",
    "05_tracker_fit.png", "06_tracker_refine.png", "07_density_nuts_advi.png", "08_density_nuts_advi_svgd.png",
    "09_x2_density.png", "10_iris_model_graph.png", "11_iris_accuracy.png", "12_iris_accuracy_adamax.png",
    "13_minibatch_model_graph.png", "14_minibatch_hist.png",
]
GRAPHS = ["10_iris_model_graph.dot", "13_minibatch_model_graph.dot"]


def load_script():
    spec = importlib.util.spec_from_file_location("quickstart", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """One quick run shared by the tests below: (output folder, stdout)."""
    out = tmp_path_factory.mktemp("quickstart")
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        load_script().main(["--quick", "--out", str(out)])
    return out, stdout.getvalue()


def number(pattern, text):
    match = re.search(pattern, text)
    assert match, f"no line matching {pattern!r} in the output:\n{text}"
    return float(match.group(1))


def test_every_figure_is_written(quick_run):
    out, stdout = quick_run
    for name in FIGURES:
        path = out / name
        assert path.is_file() and path.stat().st_size > 1000, name
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert f"wrote {path}" in stdout, name
    assert sorted(p.name for p in out.glob("*.png")) == sorted(FIGURES)


def test_model_graphs_are_dot_text(quick_run):
    out, _ = quick_run
    iris = (out / GRAPHS[0]).read_text()
    minibatch = (out / GRAPHS[1]).read_text()
    assert "digraph" in iris and "beta" in iris and "obs" in iris
    assert "digraph" in minibatch and "likelihood" in minibatch


def test_printed_numbers_are_sane(quick_run):
    _, stdout = quick_run
    # every section reports its time, and the total is printed
    assert len(re.findall(r"^  \[\d+\.\d s\]$", stdout, flags=re.M)) == 8
    assert re.search(r"^Total \d+\.\d s, 16 files", stdout, flags=re.M)
    # ADVI puts one Gaussian between the modes at -0.3 and 0.5
    assert -0.3 < number(r"q\(x\): mean (-?[\d.]+)", stdout) < 0.5
    # x**2 under SVGD: a mean between the squared modes' range and a positive variance
    assert 0.02 < number(r"x\*\*2: mean ([\d.]+)", stdout) < 1.0
    assert 0 < number(r"x\*\*2: mean [\d.]+, variance ([\d.]+)", stdout) < 1.0
    # adamax(0.1) learns iris even in 80 steps (chance is 1/3)
    assert number(r"adamax\(0\.1\).*test ([\d.]+)", stdout) > 0.6
    # the minibatch fit moves mu from 0 towards the column means (relative error 1 at the start)
    assert number(r"relative error median ([\d.]+)", stdout) < 1.0
