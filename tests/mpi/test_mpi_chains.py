"""NUTS chains across MPI ranks (nbvi.sample under mpiexec, docs/hpc.md).

The module's test launches ``mpiexec -n 2 python tests/mpi/chains.py`` and compares each rank's traces with
the same calls in this process. Chains across ranks are chain parallelism: every rank runs its chains of the
same model, seeded as in one process, so the gathered trace equals the 1-process trace bit for bit (no
tolerance: nothing is summed over ranks). Skipped, saying why, where mpi4py or mpiexec is missing
(``pip install -e ".[test]"`` brings both). The tests of the check with a stand-in communicator need no MPI.
"""

import numpy as np
import pytest
from mpi.launch import FakeComm, launch, load, require_mpi

import nbvi
from nbvi import mpi
from nbvi.sampling import sample as sample_module


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """(the 1-process results of this process, [the results of rank 0, rank 1], the ranks' stderr)."""
    launcher = require_mpi("chains across ranks are")
    reference = load("chains").runs()  # first: it compiles the kernels, which the ranks then load from the cache
    ranks, stderr = launch(launcher, "chains", tmp_path_factory.mktemp("mpi_chains"))
    return reference, ranks, stderr


TRACES = ["chains2", "chains3", "dense", "funnel"]


def test_the_ranks_ran_distributed(runs):
    _, ranks, _ = runs
    assert [r["rank"].tolist() for r in ranks] == [[0, 2], [1, 2]]


@pytest.mark.parametrize("trace", TRACES)
def test_two_ranks_return_the_one_process_trace_bit_for_bit(runs, trace):
    """chains=2 (a chain per rank) and chains=3 (two chains on rank 0): draws, every sample stat and the chain
    of each draw, on both ranks, equal to the 1-process trace."""
    reference, ranks, _ = runs
    keys = sorted(key for key in reference if key.startswith(f"{trace}.") and not key.endswith(".warnings"))
    assert {f"{trace}.chain", f"{trace}.stats.diverging", f"{trace}.stats.step_size", f"{trace}.stats.lp"} <= set(keys)
    n_chains = int(reference[f"{trace}.chain"].max()) + 1
    assert n_chains == (3 if trace == "chains3" else 2)
    for r, ranked in enumerate(ranks):
        assert sorted(key for key in ranked if key.startswith(f"{trace}.") and not key.endswith(".warnings")) == keys
        for key in keys:
            np.testing.assert_array_equal(ranked[key], reference[key], err_msg=f"rank {r}: {key}")


def test_the_chains_differ_from_each_other(runs):
    """(Otherwise the equality above would hold for chains that were all seeded alike.)"""
    reference, _, _ = runs
    mu, chain = reference["chains3.mu"], reference["chains3.chain"]
    assert not np.array_equal(mu[chain == 0], mu[chain == 2])


def test_only_rank_0_warns_and_shows_the_bar(runs):
    reference, ranks, stderr = runs
    assert reference["funnel.warnings"][0] == 1  # the funnel diverges: one warning about the whole trace
    assert [r["funnel.warnings"][0] for r in ranks] == [1, 0]
    # chains=3 with the bar: rank 0 runs chains 1 and 3 (of 1-3) and shows them; rank 1's chain 2 is silent
    assert "NUTS chain 1/3" in stderr and "NUTS chain 3/3" in stderr
    assert "NUTS chain 2/3" not in stderr


def test_a_shard_with_total_size_is_refused_on_every_rank(runs):
    reference, ranks, _ = runs
    assert reference["shard.refused"][0] == 0  # one process: the shard is all of y
    assert [r["shard.refused"][0] for r in ranks] == [1, 1]


# -- the check, with a stand-in communicator (no MPI) -----------------------------------------------------------
def _normal_model(y):
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 10.0)
        nbvi.Normal("y", mu, 1.0, observed=y)
    return model


def _sample_with(monkeypatch, other, **kwargs):
    monkeypatch.setattr(mpi, "comm", lambda: FakeComm(other))
    with _normal_model(np.arange(4.0)):
        nbvi.sample(10, tune=10, chains=2, progressbar=False, **kwargs)


def test_other_data_on_another_rank_is_refused(monkeypatch):
    with _normal_model(np.arange(5.0)) as model:
        theirs = mpi._fingerprint(model)  # the other rank holds one more row

    def other(mine):
        return {**mine, "model": theirs}

    with pytest.raises(ValueError, match="same model and data on every rank .*observed 'y'.*data-parallel NUTS"):
        _sample_with(monkeypatch, other, random_seed=1)


def test_data_that_is_not_observed_is_compared_too(monkeypatch):
    """(Covariates, priors' parameters: the summary of the observed data is the same, log p is not.)"""
    def other(mine):
        probe = mine["model"]["probe"].copy()
        probe[0] += 1e-6
        return {**mine, "model": {**mine["model"], "probe": probe}}

    with pytest.raises(ValueError, match="the log-density at a test point"):
        _sample_with(monkeypatch, other, random_seed=1)


@pytest.mark.parametrize("change", [0, 6])  # draws, random_seed
def test_other_arguments_on_another_rank_are_refused(monkeypatch, change):
    def other(mine):
        call = list(mine["call"])
        call[change] = 12345
        return {**mine, "call": tuple(call)}

    with pytest.raises(ValueError, match="same arguments on every rank"):
        _sample_with(monkeypatch, other, random_seed=1)


def test_without_a_seed_every_rank_takes_rank_0s(monkeypatch):
    """random_seed=None: rank 0's fresh seeds go to every rank (the ranks' own would differ)."""
    fixed = np.random.SeedSequence(11).spawn(2)
    with _normal_model(np.arange(4.0)) as model:
        assert mpi.same_model(model, FakeComm(lambda mine: mine), call=(), shared=fixed) is fixed
    gathered = []

    class Rank1(FakeComm):
        def Get_rank(self):
            return 1

        def allgather(self, mine):
            if isinstance(mine, dict):  # the check: rank 0 offers its seeds
                return [{**mine, "shared": fixed}, mine]
            gathered.append(mine)
            return [mine, mine]

    monkeypatch.setattr(mpi, "comm", lambda: Rank1(None))
    with _normal_model(np.arange(4.0)):
        nbvi.sample(10, tune=10, chains=2, progressbar=False)
    (ran, _, _), = gathered
    assert [c for c, _, _ in ran] == [1]  # rank 1 of 2 runs chain 1 only
    alone = sample_module.run_chain(model, 10, 10, np.random.default_rng(fixed[1]))
    np.testing.assert_array_equal(ran[0][1], alone[0])
