"""Optimizers: update rules against plain NumPy references, window, norm constraint, convergence, API."""
import copy
import pickle

import numpy as np
import pytest

from nbvi.variational import optimizers as opt

# ---------------------------------------------------------------------------------------------
# Reference rules, written from the formulas (Lasagne / PyMC3 updates.py), one step per loop turn.
# Each takes the start point and a list of gradients and returns the parameters after every step.
# ---------------------------------------------------------------------------------------------


def ref_sgd(p, grads, learning_rate):
    out = []
    for g in grads:
        p = p - learning_rate * g
        out.append(p)
    return out


def ref_momentum(p, grads, learning_rate, momentum):
    v, out = np.zeros_like(p), []
    for g in grads:
        v = momentum * v - learning_rate * g
        p = p + v
        out.append(p)
    return out


def ref_nesterov_momentum(p, grads, learning_rate, momentum):
    v, out = np.zeros_like(p), []
    for g in grads:
        v = momentum * v - learning_rate * g
        p = p + momentum * v - learning_rate * g
        out.append(p)
    return out


def ref_adagrad(p, grads, learning_rate, epsilon):
    accu, out = np.zeros_like(p), []
    for g in grads:
        accu = accu + g ** 2
        p = p - learning_rate * g / np.sqrt(accu + epsilon)
        out.append(p)
    return out


def ref_adagrad_window(p, grads, learning_rate, epsilon, n_win):
    seen, out = [], []
    for g in grads:
        seen.append(g ** 2)
        p = p - learning_rate * g / np.sqrt(np.sum(seen[-n_win:], axis=0) + epsilon)
        out.append(p)
    return out


def ref_rmsprop(p, grads, learning_rate, rho, epsilon):
    accu, out = np.zeros_like(p), []
    for g in grads:
        accu = rho * accu + (1 - rho) * g ** 2
        p = p - learning_rate * g / np.sqrt(accu + epsilon)
        out.append(p)
    return out


def ref_adadelta(p, grads, learning_rate, rho, epsilon):
    accu, delta_accu, out = np.zeros_like(p), np.zeros_like(p), []
    for g in grads:
        accu = rho * accu + (1 - rho) * g ** 2
        update = g * np.sqrt(delta_accu + epsilon) / np.sqrt(accu + epsilon)
        p = p - learning_rate * update
        delta_accu = rho * delta_accu + (1 - rho) * update ** 2
        out.append(p)
    return out


def ref_adam(p, grads, learning_rate, beta1, beta2, epsilon):
    m, v, out = np.zeros_like(p), np.zeros_like(p), []
    for t, g in enumerate(grads, start=1):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g ** 2
        a_t = learning_rate * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
        p = p - a_t * m / (np.sqrt(v) + epsilon)
        out.append(p)
    return out


def ref_adamax(p, grads, learning_rate, beta1, beta2, epsilon):
    m, u, out = np.zeros_like(p), np.zeros_like(p), []
    for t, g in enumerate(grads, start=1):
        m = beta1 * m + (1 - beta1) * g
        u = np.maximum(beta2 * u, np.abs(g))
        p = p - learning_rate / (1 - beta1 ** t) * m / (u + epsilon)
        out.append(p)
    return out


# Every setting differs from its default (and epsilons are large enough to matter), so a setting the
# kernel ignored would show up as a mismatch.
CASES = [
    (opt.sgd, ref_sgd, dict(learning_rate=0.3)),
    (opt.momentum, ref_momentum, dict(learning_rate=0.2, momentum=0.6)),
    (opt.nesterov_momentum, ref_nesterov_momentum, dict(learning_rate=0.2, momentum=0.6)),
    (opt.adagrad, ref_adagrad, dict(learning_rate=0.4, epsilon=0.3)),
    (opt.adagrad_window, ref_adagrad_window, dict(learning_rate=0.4, epsilon=0.3, n_win=2)),
    (opt.rmsprop, ref_rmsprop, dict(learning_rate=0.4, rho=0.7, epsilon=0.3)),
    (opt.adadelta, ref_adadelta, dict(learning_rate=0.4, rho=0.7, epsilon=0.3)),
    (opt.adam, ref_adam, dict(learning_rate=0.4, beta1=0.6, beta2=0.8, epsilon=0.3)),
    (opt.adamax, ref_adamax, dict(learning_rate=0.4, beta1=0.6, beta2=0.8, epsilon=0.3)),
]
IDS = [factory.__name__ for factory, _, _ in CASES]
FACTORIES = [factory for factory, _, _ in CASES]


def random_problem(seed, n=5, steps=3):
    rng = np.random.default_rng(seed)
    return rng.normal(size=n), [rng.normal(size=n) * rng.uniform(0.1, 3.0) for _ in range(steps)]


def run(optimizer, p0, grads):
    """The optimizer's parameters after each step."""
    p, state, out = p0.copy(), optimizer.init(p0.size), []
    for g in grads:
        optimizer.step(p, g, state)
        out.append(p.copy())
    return out


@pytest.mark.parametrize("factory, reference, settings", CASES, ids=IDS)
@pytest.mark.parametrize("defaults", [False, True], ids=["settings", "defaults"])
def test_first_steps_match_reference(factory, reference, settings, defaults):
    p0, grads = random_problem(seed=len(settings))
    optimizer = factory() if defaults else factory(**settings)
    if defaults:
        settings = {name: getattr(optimizer, name) for name in settings}
    expected = reference(p0, grads, **settings)
    for got, want in zip(run(optimizer, p0, grads), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_adagrad_window_rolls():
    n_win, lr, eps = 3, 0.5, 0.1
    rng = np.random.default_rng(7)
    grads = [np.full(4, 1e3)] + [rng.normal(size=4) for _ in range(n_win)]
    optimizer = opt.adagrad_window(learning_rate=lr, epsilon=eps, n_win=n_win)
    p, state = np.zeros(4), optimizer.init(4)
    for g in grads[:n_win]:
        optimizer.step(p, g, state)
    before = p.copy()
    optimizer.step(p, grads[n_win], state)  # step n_win + 1: the huge first gradient has left the window
    g = grads[n_win]
    expected_step = -lr * g / np.sqrt(sum(x ** 2 for x in grads[1:]) + eps)
    np.testing.assert_allclose(p - before, expected_step, rtol=1e-12)
    window = optimizer.unpack(state)["window"]
    assert window.shape == (n_win, 4)
    # steps 1, 2, 3 filled rows 0, 1, 2; step 4 overwrote row 0 (the 1e3 ** 2 of step 1)
    np.testing.assert_array_equal(window, [grads[3] ** 2, grads[1] ** 2, grads[2] ** 2])
    assert optimizer.unpack(state)["position"][0] == 1  # next write goes to row 1


@pytest.mark.parametrize("factory", FACTORIES, ids=IDS)
def test_max_grad_norm_rescales_large_gradients(factory):
    p0, grads = random_problem(seed=11)
    max_norm = 0.5 * min(np.linalg.norm(g) for g in grads)
    clipped = run(factory(max_grad_norm=max_norm), p0, grads)
    rescaled = [g * (max_norm / np.linalg.norm(g)) for g in grads]
    expected = run(factory(), p0, rescaled)
    for got, want in zip(clipped, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    assert not np.allclose(clipped[-1], run(factory(), p0, grads)[-1])  # the constraint acted


@pytest.mark.parametrize("factory", FACTORIES, ids=IDS)
def test_max_grad_norm_leaves_small_gradients_alone(factory):
    p0, grads = random_problem(seed=12)
    max_norm = 1.01 * max(np.linalg.norm(g) for g in grads)
    for got, want in zip(run(factory(max_grad_norm=max_norm), p0, grads), run(factory(), p0, grads)):
        np.testing.assert_array_equal(got, want)


def test_max_grad_norm_sgd_by_hand():
    optimizer = opt.sgd(learning_rate=1.0, max_grad_norm=2.0)
    p, state = np.zeros(2), optimizer.init(2)
    optimizer.step(p, np.array([6.0, 8.0]), state)  # norm 10 -> rescaled to norm 2
    np.testing.assert_allclose(p, [-1.2, -1.6], rtol=1e-15)


# Learning rates and step counts chosen so each rule reaches the minimum from zeros on this problem
# (deterministic gradients, so the tolerance is about the rule's convergence, not noise).
QUADRATIC = [
    (opt.sgd(learning_rate=0.1), 300),
    (opt.momentum(learning_rate=0.05), 500),
    (opt.nesterov_momentum(learning_rate=0.05), 500),
    (opt.adagrad(), 300),
    (opt.adagrad_window(learning_rate=0.1), 300),
    (opt.rmsprop(learning_rate=0.01), 1000),
    (opt.adadelta(), 1500),
    (opt.adam(learning_rate=0.05), 1500),
    (opt.adamax(learning_rate=0.05), 1500),
]


@pytest.mark.parametrize("optimizer, steps", QUADRATIC, ids=IDS)
def test_minimises_quadratic(optimizer, steps):
    # loss = sum (p - c)^2 / 2, gradient p - c
    c = np.random.default_rng(3).normal(size=5) * 2.0
    p, state = np.zeros(5), optimizer.init(5)
    grad = np.empty(5)
    for _ in range(steps):
        np.subtract(p, c, out=grad)
        optimizer.step(p, grad, state)
    np.testing.assert_allclose(p, c, atol=1e-6)


@pytest.mark.parametrize("factory", FACTORIES, ids=IDS)
def test_step_leaves_grad_alone(factory):
    p0, grads = random_problem(seed=5)
    optimizer = factory(max_grad_norm=0.1)
    p, state = p0.copy(), optimizer.init(5)
    for g in grads:
        kept = g.copy()
        optimizer.step(p, g, state)
        np.testing.assert_array_equal(g, kept)


@pytest.mark.parametrize("factory, reference, settings", CASES, ids=IDS)
def test_factory_returns_class_with_settings(factory, reference, settings):
    optimizer = factory(**settings, max_grad_norm=3.0)
    cls = {"sgd": opt.SGD, "momentum": opt.Momentum, "nesterov_momentum": opt.NesterovMomentum,
           "adagrad": opt.Adagrad, "adagrad_window": opt.AdagradWindow, "rmsprop": opt.RMSProp,
           "adadelta": opt.AdaDelta, "adam": opt.Adam, "adamax": opt.Adamax}[factory.__name__]
    assert type(optimizer) is cls
    assert isinstance(optimizer, opt.Optimizer)
    for name, value in {**settings, "max_grad_norm": 3.0}.items():
        assert getattr(optimizer, name) == value
        assert f"{name}={value!r}" in repr(optimizer)
    assert repr(optimizer).startswith(cls.__name__ + "(")


def test_defaults_are_pymc3s():
    assert opt.sgd().learning_rate == 1e-3
    m = opt.momentum()
    assert (m.learning_rate, m.momentum) == (1e-3, 0.9)
    n = opt.nesterov_momentum()
    assert (n.learning_rate, n.momentum) == (1e-3, 0.9)
    a = opt.adagrad()
    assert (a.learning_rate, a.epsilon) == (1.0, 1e-6)
    w = opt.adagrad_window()
    assert (w.learning_rate, w.epsilon, w.n_win) == (1e-3, 0.1, 10)
    r = opt.rmsprop()
    assert (r.learning_rate, r.rho, r.epsilon) == (1.0, 0.9, 1e-6)
    d = opt.adadelta()
    assert (d.learning_rate, d.rho, d.epsilon) == (1.0, 0.95, 1e-6)
    adam = opt.adam()
    assert (adam.learning_rate, adam.beta1, adam.beta2, adam.epsilon) == (1e-3, 0.9, 0.999, 1e-8)
    adamax = opt.adamax()
    assert (adamax.learning_rate, adamax.beta1, adamax.beta2, adamax.epsilon) == (2e-3, 0.9, 0.999, 1e-8)
    assert all(f().max_grad_norm is None for f in FACTORIES)


BAD = [
    (opt.sgd, "learning_rate", [0.0, -1.0, np.nan, np.inf]),
    (opt.momentum, "momentum", [1.0, -0.1, 2.0]),
    (opt.nesterov_momentum, "momentum", [1.0, -0.1]),
    (opt.adagrad, "epsilon", [0.0, -1e-6]),
    (opt.adagrad_window, "n_win", [0, -3]),
    (opt.adagrad_window, "epsilon", [0.0]),
    (opt.rmsprop, "rho", [1.0, -0.5]),
    (opt.adadelta, "rho", [1.0]),
    (opt.adam, "beta1", [1.0, -0.1]),
    (opt.adam, "beta2", [1.0]),
    (opt.adamax, "beta2", [1.5]),
    (opt.adamax, "learning_rate", [-0.002]),
]


@pytest.mark.parametrize("factory, name, values", BAD, ids=[f"{f.__name__}-{n}" for f, n, _ in BAD])
def test_invalid_settings_raise(factory, name, values):
    for value in values:
        with pytest.raises(ValueError, match=name):
            factory(**{name: value})


@pytest.mark.parametrize("factory", FACTORIES, ids=IDS)
def test_invalid_max_grad_norm_raises(factory):
    for value in [0.0, -1.0, np.nan]:
        with pytest.raises(ValueError, match="max_grad_norm"):
            factory(max_grad_norm=value)


def test_wrong_types_raise():
    with pytest.raises(TypeError, match="n_win"):
        opt.adagrad_window(n_win=2.5)
    with pytest.raises(TypeError, match="learning_rate"):
        opt.adam(learning_rate="fast")


def test_settings_are_fixed():
    optimizer = opt.adam()
    with pytest.raises(AttributeError):
        optimizer.learning_rate = 0.1
    with pytest.raises(ValueError):
        optimizer.hyper[1] = 0.1  # read-only array
    assert optimizer.hyper[1] == 1e-3


@pytest.mark.parametrize("factory", FACTORIES, ids=IDS)
def test_mismatched_arrays_raise(factory):
    optimizer = factory()
    state = optimizer.init(3)
    p, g = np.zeros(5), np.ones(5)
    if state.size:  # SGD has no state to mismatch
        with pytest.raises(ValueError, match="state"):
            optimizer.step(p, g, state)
    with pytest.raises(ValueError, match="grad"):
        optimizer.step(p, np.ones(4), optimizer.init(5))


def test_unpack_names_views_into_state():
    optimizer = opt.adam()
    state = optimizer.init(3)
    optimizer.step(np.zeros(3), np.ones(3), state)
    views = optimizer.unpack(state)
    assert set(views) == {"t", "m", "v"}
    assert views["t"][0] == 1.0
    np.testing.assert_allclose(views["m"], 0.1)  # (1 - beta1) * 1
    views["m"][:] = 0.0
    assert np.all(state[1:4] == 0.0)  # a view, not a copy
    assert opt.sgd().init(4).size == 0


@pytest.mark.parametrize("factory, reference, settings", CASES, ids=IDS)
def test_pickle_and_copy_keep_settings(factory, reference, settings):
    optimizer = factory(**settings, max_grad_norm=2.0)
    for clone in [pickle.loads(pickle.dumps(optimizer)), copy.deepcopy(optimizer)]:
        assert type(clone) is type(optimizer)
        assert clone.get_settings() == optimizer.get_settings()
        np.testing.assert_array_equal(clone.hyper, optimizer.hyper)
        assert not clone.hyper.flags.writeable
