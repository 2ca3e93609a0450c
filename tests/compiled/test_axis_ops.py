"""The instructions along a core axis or along lines run in a second C function (nbvi.compiled.axis_ops),
whose address a tape's plan carries only when it has one of them (a model without them does not compile it);
with it, the tape equals the graph walk (tests/compiled/test_density.py covers each family at length)."""
import numpy as np
import pytest
from density_checks import assert_tape_is_graph, tape_of

import nbvi
from nbvi.compiled import interpreter
from nbvi.compiled.axis_ops import axis_ops_address


def _regression():
    x = np.linspace(-1.0, 1.0, 20)
    with nbvi.Model() as model:
        a = nbvi.Normal("a", 0.0, 1.0)
        b = nbvi.Normal("b", 0.0, 1.0)
        nbvi.Normal("y", a + b * x, nbvi.HalfNormal("s", 1.0), observed=1.0 + 2.0 * x)
    return model


def _mixture():
    with nbvi.Model() as model:
        w = nbvi.Dirichlet("w", np.ones(2))  # stick-breaking and DIRICHLET
        nbvi.NormalMixture("y", w=w, mu=np.array([-1.0, 1.0]), sigma=np.array([0.5, 0.5]),
                           observed=np.array([-1.2, 0.9, 1.1]))
    return model


def _cumulative(op):
    def build():
        with nbvi.Model() as model:
            x = nbvi.Normal("x", 0.3, 0.2, shape=4)
            nbvi.Normal("y", op(x), 1.0, observed=np.array([0.1, 0.2, 0.3, 0.4]))
        return model
    return build


def _mvnormal():
    with nbvi.Model() as model:
        mu = nbvi.Normal("mu", 0.0, 1.0, shape=2)
        nbvi.MvNormal("y", mu=mu, cov=np.array([[1.0, 0.3], [0.3, 2.0]]), observed=np.array([[0.1, -0.2]]))
    return model


def _categorical():
    with nbvi.Model() as model:
        p = nbvi.Dirichlet("p", np.ones(3))
        nbvi.Categorical("y", p=p, observed=np.array([0, 2, 2, 1]))
    return model


def _ordered():
    with nbvi.Model() as model:
        c = nbvi.Normal("c", 0.0, 5.0, shape=(2, 3), transform=nbvi.transforms.ordered,
                        initval=np.array([[-1.0, 0.0, 2.0], [-3.0, 1.0, 1.5]]))
        nbvi.Normal("y", c[:, 1:] - c[:, :-1], 1.0, observed=np.ones((2, 2)))
    return model


MODELS_WITH_AXIS_OPS = {"ordered": _ordered, "mixture": _mixture, "cumsum": _cumulative(nbvi.math.cumsum),
                        "cumprod": _cumulative(nbvi.math.cumprod),
                        "prod": _cumulative(lambda x: nbvi.math.prod(x) + 0.0 * x), "mvnormal": _mvnormal,
                        "categorical": _categorical}


def test_a_tape_without_axis_instructions_carries_no_address_of_theirs():
    density = tape_of(_regression())
    functions = density._plan[0]
    assert not interpreter.needs_axis_ops(density.tape.code)
    assert functions[0] == interpreter.interpreter_address() and functions[1] == 0


@pytest.mark.parametrize("name", sorted(MODELS_WITH_AXIS_OPS))
def test_a_tape_with_an_axis_instruction_calls_the_second_function(name):
    model = MODELS_WITH_AXIS_OPS[name]()
    density = tape_of(model)
    assert interpreter.needs_axis_ops(density.tape.code)
    assert density._plan[0][1] == axis_ops_address() != 0
    assert_tape_is_graph(model)
