"""Bad arguments of the diagnostics, as a user meets them (issue "Reliability"). Too few or non-finite
draws give NaN, as in ArviZ; what is not draws at all is refused, naming it."""
import numpy as np
import pytest

import nbvi

RNG = np.random.default_rng(0)
TRACE = nbvi.Trace({"x": RNG.normal(size=200), "xs": RNG.normal(size=(200, 2))}, chain=np.repeat([0, 1], 100))


@pytest.mark.parametrize("diagnostic", [nbvi.effective_sample_size, nbvi.rhat])
def test_draws_must_be_real_numbers(diagnostic):
    with pytest.raises(TypeError, match="draws must be real numbers"):
        diagnostic(["a", "b", "c", "d"])
    with pytest.raises(ValueError, match=r"draws must have shape \(chains, draws\)"):
        diagnostic(np.zeros((2, 3, 4)))
    assert np.isnan(diagnostic(np.zeros(3)))  # too short: NaN, as ArviZ


def test_summary_checks_its_arguments():
    with pytest.raises(TypeError, match="summary: trace must be an nbvi.Trace, an InferenceData or a dict"):
        nbvi.summary([0.0, 1.0])
    with pytest.raises(ValueError, match=r"summary: no variable 'zz' in the trace; it has \['x', 'xs'\]"):
        nbvi.summary(TRACE, var_names=["zz"])
    with pytest.raises(TypeError, match="var_names must be a name or a list of names"):
        nbvi.summary(TRACE, var_names=[1])
    for prob in (0.0, 1.0, 2.0):
        with pytest.raises(ValueError, match="hdi_prob must lie strictly between 0 and 1"):
            nbvi.summary(TRACE, hdi_prob=prob)
    with pytest.raises(TypeError, match="hdi_prob must be a number"):
        nbvi.summary(TRACE, hdi_prob="0.9")


def test_summary_takes_one_name_without_splitting_it():
    assert list(nbvi.summary(TRACE, var_names="xs")) == ["xs"]
