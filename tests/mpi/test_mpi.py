"""Data-parallel fits over MPI ranks (nbvi.mpi, docs/hpc.md).

The module's test launches ``mpiexec -n 2 python tests/mpi/fits.py`` and compares each rank's fits with the
same fits of the full data in this process (one rank: not under a launcher, ``shard`` returns every row).
It is skipped, saying why, where mpi4py or mpiexec is missing (``pip install -e ".[test]"`` brings both).
The rest needs no MPI.
"""
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from mpi.launch import FakeComm, launch, load, require_mpi

import nbvi
from nbvi import mpi

# The K-rank fit equals the 1-rank fit up to the order of the sums: one weight per rank (n_k / N, rounded)
# and the allreduce's order move each evaluation by ~1e-16 relative; 500 Adam steps or an L-BFGS run to
# convergence carry that to ~1e-14 here. 1e-9 (docs/hpc.md) leaves five orders for longer fits and
# other models; a prior counted twice, or a shard's rows weighted N / n_k, is off by far more.
RTOL = 1e-9


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """(the 1-rank results of this process, [the results of rank 0, rank 1], the ranks' stderr)."""
    launcher = require_mpi("the data-parallel fits are")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (PSIS warnings of the prior-only model)
        reference = load("fits").fits()  # first: it compiles the kernels, which the ranks then load from the cache
    ranks, stderr = launch(launcher, "fits", tmp_path_factory.mktemp("mpi"))
    return reference, ranks, stderr


FITS = ["default", "adam", "fullrank_default", "svgd", "priors", "priors_default"]


def test_the_ranks_ran_distributed_on_uneven_shards(runs):
    _, ranks, _ = runs
    assert [r["rank"].tolist() for r in ranks] == [[0, 2], [1, 2]]
    assert [r["shard_rows"].tolist() for r in ranks] == [[0, 51], [51, 101]]  # 101 rows: uneven


@pytest.mark.parametrize("fit", FITS)
def test_every_rank_returns_the_same_approximation(runs, fit):
    _, (first, second), _ = runs
    for key in (f"{fit}.params", f"{fit}.hist"):
        np.testing.assert_array_equal(first[key], second[key])


@pytest.mark.parametrize("fit", FITS)
def test_two_ranks_equal_one_rank_of_the_full_data(runs, fit):
    """Default (deterministic) ADVI and full-rank ADVI, Adam ADVI, SVGD, and a model of priors only (counted
    once, not once per rank): parameters, losses and k-hat within RTOL of the 1-rank fit."""
    reference, ranks, _ = runs
    keys = [key for key in reference if key.startswith(f"{fit}.")]
    assert f"{fit}.params" in keys
    for key in keys:
        assert ranks[0][key].shape == reference[key].shape, key
        np.testing.assert_allclose(ranks[0][key], reference[key], rtol=RTOL, atol=RTOL, err_msg=key)


def test_minibatches_of_the_shards_give_every_rank_the_same_fit_of_the_posterior(runs):
    """Each rank draws 10 rows of its shard per step: the summed density is an unbiased estimate of the full
    one, the ranks agree bit for bit, and q's means land near the posterior's (y: 101 rows, mean about 1,
    sd about 0.5)."""
    reference, (first, second), _ = runs
    np.testing.assert_array_equal(first["minibatch.params"], second["minibatch.params"])
    np.testing.assert_array_equal(first["minibatch.hist"], second["minibatch.hist"])
    y, _ = load("fits").data()
    mu, log_sigma = first["minibatch.params"][0], first["minibatch.params"][1]
    assert abs(mu - y.mean()) < 0.15 and abs(np.exp(log_sigma) - y.std()) < 0.15
    assert np.all(np.isfinite(first["minibatch.hist"]))


def test_a_shard_without_total_size_is_refused_on_every_rank(runs):
    reference, ranks, _ = runs
    assert reference["forgot_total_size.refused"][0] == 0  # one rank: the shard is all the data
    assert [r["forgot_total_size.refused"][0] for r in ranks] == [1, 1]


def test_only_rank_0_warns(runs):
    reference, _, stderr = runs
    # each deterministic fit with k-hat > 0.7 warns once, from rank 0 only (not once per rank)
    unreliable = sum(1 for key, value in reference.items() if key.endswith(".khat") and value[0] > 0.7)
    assert unreliable >= 1
    assert stderr.count("PSISWarning") == unreliable


# -- without MPI ------------------------------------------------------------------------------------------------
def test_import_nbvi_does_not_import_mpi4py():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI", "OMPI", "MV2", "MPI_", "NBVI_MPI"))}
    env["PYTHONPATH"] = str(Path(nbvi.__file__).resolve().parent.parent)
    code = "import sys, nbvi; print('mpi4py' in sys.modules, nbvi.mpi.is_distributed(), nbvi.mpi.rank(), nbvi.mpi.size())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False", "0", "1"]


def test_nbvi_mpi_0_turns_the_ranks_off(monkeypatch):
    """NBVI_MPI=0: no communicator even when a launcher's variables say several ranks (each fits alone)."""
    monkeypatch.setattr(mpi, "_comm", None)
    monkeypatch.setenv("PMI_SIZE", "2")
    monkeypatch.setenv("NBVI_MPI", "0")
    assert mpi.comm() is None and mpi.size() == 1 and not mpi.is_distributed()


@pytest.mark.parametrize("rows, ranks", [(101, 2), (10, 3), (7, 7), (1000, 16)])
def test_shard_rows_split_the_rows_evenly(monkeypatch, rows, ranks):
    monkeypatch.setattr(mpi, "size", lambda: ranks)
    bounds = []
    for r in range(ranks):
        monkeypatch.setattr(mpi, "rank", lambda r=r: r)
        bounds.append(mpi.shard_rows(rows))
    assert bounds[0][0] == 0 and bounds[-1][1] == rows
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))  # contiguous, no row twice
    sizes = [stop - start for start, stop in bounds]
    assert max(sizes) - min(sizes) <= 1
    np.testing.assert_array_equal(mpi.shard(np.arange(rows)), np.arange(*bounds[-1]))


def test_more_ranks_than_rows_is_refused(monkeypatch):
    monkeypatch.setattr(mpi, "size", lambda: 4)
    monkeypatch.setattr(mpi, "rank", lambda: 0)
    with pytest.raises(ValueError, match="cannot split 3 rows over 4 ranks"):
        mpi.shard_rows(3)


def _two_variable_model(rows_y, rows_w, total_y=10, total_w=10):
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 1.0)
        nbvi.Normal("y", mu, 1.0, observed=np.zeros(rows_y), total_size=total_y)
        nbvi.Normal("w", mu, 1.0, observed=np.zeros(rows_w), total_size=total_w)
    return model


def test_the_weight_is_the_share_of_the_rows():
    model = _two_variable_model(6, 6)

    def other(mine):  # the other rank holds the remaining 4 rows of each
        return {"ndim": mine["ndim"], "observed": {name: (1 / (10 / 4), None) for name in mine["observed"]}}

    assert mpi.DataParallel(model, FakeComm(other)).weight == pytest.approx(0.6, rel=1e-15)


def test_variables_split_in_different_proportions_are_refused():
    model = _two_variable_model(6, 5)

    def other(mine):
        return {"ndim": mine["ndim"], "observed": {"y": (4 / 10, None), "w": (5 / 10, None)}}

    with pytest.raises(ValueError, match="different proportions"):
        mpi.DataParallel(model, FakeComm(other))


def test_different_models_on_the_ranks_are_refused():
    model = _two_variable_model(6, 6)

    def other(mine):
        return {"ndim": mine["ndim"] + 1, "observed": mine["observed"]}

    with pytest.raises(ValueError, match="different models"):
        mpi.DataParallel(model, FakeComm(other))


@pytest.mark.parametrize("call", ["find_MAP", "laplace"])
def test_what_does_not_sum_over_ranks_refuses_to_run_under_several(monkeypatch, call):
    """find_MAP and the Laplace approximation would each use one shard alone under mpiexec: they say so
    instead (seen as 2 ranks here). NUTS runs its chains across the ranks instead (test_mpi_chains.py)."""
    with nbvi.Model():
        nbvi.Normal("x", 0.0, 1.0)
        monkeypatch.setattr(mpi, "size", lambda: 2)
        with pytest.raises(mpi.NotDistributedError, match="ranks"):
            if call == "find_MAP":
                nbvi.find_MAP(progressbar=False)
            else:
                nbvi.fit(method="laplace", progressbar=False)
