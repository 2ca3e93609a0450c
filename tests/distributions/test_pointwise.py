"""PointwiseLogp: each element's log-density of a scalar family as a graph op, its value against scipy and
its VJP against central differences, broadcast parameters summed back."""
import numpy as np
import pytest
from gradcheck import assert_grad_close
from scipy import stats

import nbvi
from nbvi.distributions.pointwise import PointwiseLogp, pointwise_logp
from nbvi.graph import Placeholder, Program


@pytest.mark.parametrize("make, reference", [
    (lambda mu, s: nbvi.Normal.dist(mu, s), lambda x, mu, s: stats.norm.logpdf(x, mu, s)),
    (lambda mu, s: nbvi.StudentT.dist(4.0, mu, s), lambda x, mu, s: stats.t.logpdf(x, 4.0, mu, s)),
    (lambda mu, s: nbvi.Gamma.dist(mu, s), lambda x, a, b: stats.gamma.logpdf(x, a, scale=1 / b)),
])
def test_value_and_vjp(make, reference):
    rng = np.random.default_rng(0)
    x = np.abs(rng.normal(size=(2, 4))) + 0.2
    mu, s = np.abs(rng.normal(size=(2, 1, 4))) + 0.5, np.array([[1.3]])
    xs, mus, ss = Placeholder((4,)), Placeholder((1, 4)), Placeholder(())
    dist = make(mus, ss)
    node = PointwiseLogp(dist)(xs, *dist.param_nodes.values())
    assert node.shape == (1, 4)
    program = Program([node], [xs, mus, ss])
    (value,) = program.run([x, mu, s[:, 0]])
    np.testing.assert_allclose(value, reference(x[:, None, :], mu, 1.3), rtol=1e-12)
    # gradient of sum(c * logp) for fixed weights c, against central differences in each input
    c = rng.normal(size=(1, 4))
    weighted = nbvi.math.sum(node * c)
    grad_program = Program([weighted], [xs, mus, ss])
    _, grads = grad_program.value_and_grad([x[:1], mu[:1], s[:1, 0]])
    for position, point in enumerate([x[:1], mu[:1], s[:1, 0]]):
        def f(v, position=position):
            args = [x[:1], mu[:1], s[:1, 0]]
            args[position] = v
            return float(grad_program.run(args)[0][0])
        assert_grad_close(f, grads[position], point)


def test_a_family_without_an_element_density_is_refused():
    with pytest.raises(TypeError, match="not a scalar family"):
        pointwise_logp(nbvi.Dirichlet.dist(np.ones(3)), np.full(3, 1 / 3))
