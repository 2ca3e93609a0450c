"""total_size as a user meets its errors: each entry must be a count, and for an observed Minibatch it must
size exactly the axes the minibatch draws at random (issue "Reliability")."""
import numpy as np
import pytest

import nbvi

DATA = np.random.default_rng(0).normal(size=(100, 2))


@pytest.mark.parametrize("total_size, error, match", [
    (True, TypeError, "must be an integer, got True"),
    ("100", TypeError, "must be an integer, got '100'"),
    (100.5, ValueError, "must be an integer, got 100.5"),
    (0, ValueError, "must be >= 1"),
])
def test_total_size_entries_must_be_counts(total_size, error, match):
    with nbvi.Model():
        with pytest.raises(error, match=f"total_size .* of 'y'.*{match}"):
            nbvi.Normal("y", 0.0, 1.0, observed=np.zeros(3), total_size=total_size)


def test_an_integral_float_total_size_is_fine():
    with nbvi.Model() as model:
        nbvi.Normal("y", 0.0, 1.0, observed=np.zeros(3), total_size=6.0)
    assert model.observed_RVs[0].scale((3,)) == 2.0


@pytest.mark.parametrize("total_size, match", [
    ((100, 3), r"gives 3 for axis 1, which its minibatch does not batch \(it holds all 2 entries"),
    ((None, 2), r"gives no size for axis 0, which its minibatch draws at random \(25 of 100"),
    (Ellipsis, "gives no size for axis 0"),
])
def test_total_size_must_match_the_axes_the_minibatch_batches(total_size, match):
    with nbvi.Model() as model:
        batch = nbvi.Minibatch(DATA, batch_size=25)
        with pytest.raises(ValueError, match=f"'y'.*{match}"):
            nbvi.Normal("y", 0.0, 1.0, observed=batch, total_size=total_size)
    assert "y" not in model.named_vars  # nothing was registered


@pytest.mark.parametrize("total_size", [100, (100, None), (100, 2), DATA.shape])
def test_total_size_of_the_batched_axes_only_or_of_the_whole_data_is_fine(total_size):
    with nbvi.Model() as model:
        nbvi.Normal("y", 0.0, 1.0, observed=nbvi.Minibatch(DATA, batch_size=25), total_size=total_size)
    assert model.observed_RVs[0].scale((25, 2)) == 4.0


def test_a_minibatch_of_columns_needs_the_columns_sized():
    with nbvi.Model():
        batch = nbvi.Minibatch(DATA.T.copy(), batch_size=[None, 20])
        with pytest.raises(ValueError, match="gives no size for axis 1"):
            nbvi.Normal("y", 0.0, 1.0, observed=batch, total_size=2)
        nbvi.Normal("z", 0.0, 1.0, observed=batch, total_size=(None, 100))
