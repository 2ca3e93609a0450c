"""Prior and posterior predictive sampling, vectorised over the draws (PyMC v5's names and arguments).

Both functions walk the model's variables in the order they were created, which is a topological order
(a variable can only read variables made before it). For each variable to draw, one
:class:`~nbvi.graph.evaluate.Program` evaluates its parameters at all S draws at once (free variables fed
as arrays ``(S, *shape)``), and the family's ``sample(rng, (S, *shape), **params)`` runs once::

    params (S, *param_shape)  --lifted to the variable's batch rank-->  sample  -->  draws (S, *shape)

so the cost is a handful of NumPy calls per variable, whatever S.
"""
import warnings

import numpy as np

from nbvi import arguments
from nbvi.data import Minibatch
from nbvi.graph.evaluate import Program, eval_node
from nbvi.graph.node import Leaf
from nbvi.model import Model, RandomVariable, modelcontext
from nbvi.trace import Trace

__all__ = ["sample_posterior_predictive", "sample_prior_predictive"]


# -- evaluating parameters at many draws -------------------------------------------------------------------
def nbvi_model(model, what):
    """``model`` (or the model of the ``with`` block) as an :class:`~nbvi.model.Model`; TypeError otherwise."""
    model = modelcontext(model)
    if not isinstance(model, Model):
        raise TypeError(f"{what} needs an nbvi.Model (its variables and their distributions), got "
                        f"{type(model).__name__}")
    return model


def parameter_values(model, rv, known):
    """The parameters of ``rv`` at every draw.

    Parameters
    ----------
    model : Model
    rv : RandomVariable
    known : dict name -> ndarray (S, *shape)
        Values of variables (free, or observed ones drawn before) fed to the graph; every free variable
        the parameters read must be among them. Observed variables not in it read their data.

    Returns
    -------
    dict parameter name -> ndarray (D, *param_shape), D in {1, S} (1 when it does not depend on a draw)
    """
    if not rv.dist.param_nodes:  # (Flat, HalfFlat)
        return {}
    inputs = [model.named_vars[name] for name in known]
    fed = {id(node) for node in inputs}
    swaps = {o: o.observed for o in model.observed_RVs if not isinstance(o.observed, Leaf) and id(o) not in fed}
    program = Program(list(rv.dist.param_nodes.values()), inputs, swaps)
    return dict(zip(rv.dist.param_nodes, program.run([np.asarray(v) for v in known.values()])))


def deterministic_values(model, nodes, known, draws):
    """Values of deterministic ``nodes`` at every draw: dict name -> ndarray (draws, *shape)."""
    if not nodes:
        return {}
    inputs = [model.named_vars[name] for name in known]
    fed = {id(node) for node in inputs}
    swaps = {o: o.observed for o in model.observed_RVs if not isinstance(o.observed, Leaf) and id(o) not in fed}
    values = Program(nodes, inputs, swaps).run([np.asarray(v) for v in known.values()])
    return {node.name: np.broadcast_to(v, (draws,) + v.shape[1:]).copy() for node, v in zip(nodes, values)}


def free_parents(nodes):
    """Names of the free variables that ``nodes`` read (walking the graph, stopping at leaves)."""
    found, seen, stack = [], set(), list(nodes)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, RandomVariable) and node.observed is None:
            found.append(node.name)
        stack.extend(node.inputs)
    return sorted(found)


# -- one vectorised draw per variable ----------------------------------------------------------------------
def family_params(dist, values):
    """The parameters at many draws as ``dist.sample`` takes them, and the number of core axes of each.

    Categorical in its linear form (X, beta, intercept) gets ``logit_p = X beta + intercept`` (D, N, K).
    """
    if type(dist).__name__ == "Categorical" and dist.params[0] == "X":
        X, beta, intercept = values["X"], values["beta"], values["intercept"]
        return {"logit_p": np.matmul(X, beta) + intercept[:, None, :]}, (1,)
    return values, tuple(dist.ndims_params) or (0,) * len(values)


def _batch_shape(values, ndims):
    """The broadcast batch shape of batched parameters whose last ``ndims[i]`` axes are core axes."""
    shapes = [v.shape[1:max(1, v.ndim - k)] for v, k in zip(values, ndims)]
    return tuple(np.broadcast_shapes(*shapes)) if shapes else ()


def parameters_fit(batch, values, ndims):
    """Whether batched parameters (core axes last) broadcast into the batch shape ``batch`` (and no larger)."""
    try:
        return np.broadcast_shapes(batch, _batch_shape(values, ndims)) == tuple(batch)
    except ValueError:
        return False


def _observed_shape(rv):
    """The shape of the observed value of ``rv`` now (data may have changed size with ``set_data``)."""
    node = rv.observed
    if isinstance(node, Minibatch):
        raise ValueError(f"'{rv.name}' is observed through a Minibatch: predictive draws and the pointwise "
                         f"log-likelihood need the full data; build the model with nbvi.Data for them")
    if isinstance(node, Leaf):
        value = node.value()
        return rv.shape if value is None else value.shape[1:]
    return np.shape(eval_node(node))


def current_shape(rv, values, ndims):
    """The shape of ``rv`` now: its observed data's shape, or the parameters' batch shape where new data
    (``set_data``) changed it and the observed data was left as it was; a free variable's own shape."""
    if rv.observed is None:
        return rv.shape
    shape = tuple(_observed_shape(rv))
    supp = rv.dist.ndim_supp
    batch, event = shape[:len(shape) - supp], shape[len(shape) - supp:]
    params = _batch_shape(list(values.values()), ndims)
    if parameters_fit(batch, list(values.values()), ndims):
        return shape
    if len(params) == len(batch):
        return tuple(params) + event
    raise ValueError(f"'{rv.name}': its parameters now have batch shape {params}, which does not fit its observed "
                     f"data of shape {shape}; give the observed Data new values of the same length too "
                     f"(nbvi.set_data)")


def _lift(value, core, rank):
    """A batched parameter ``(D, *b, *c)`` with ``len(c) == core`` lifted to ``rank`` batch axes (axes of
    length 1 inserted after the draw axis); a parameter with fewer axes than its core gets trailing ones."""
    value = np.asarray(value)
    if value.ndim - 1 < core:
        value = value.reshape(value.shape + (1,) * (core - value.ndim + 1))
    missing = rank - (value.ndim - 1 - core)
    return value.reshape(value.shape[:1] + (1,) * missing + value.shape[1:]) if missing > 0 else value


def draw_variable(rv, values, rng, draws):
    """One call of ``rv.dist.sample``: ``draws`` values of ``rv`` given its parameters at each draw.

    Parameters
    ----------
    rv : RandomVariable
    values : dict parameter name -> ndarray (D, *param_shape), D in {1, draws}
    rng : numpy.random.Generator
    draws : int

    Returns
    -------
    ndarray (draws, *shape)
    """
    params, ndims = family_params(rv.dist, values)
    shape = current_shape(rv, params, ndims)
    rank = len(shape) - rv.dist.ndim_supp
    lifted = {name: _lift(v, k, rank) for (name, v), k in zip(params.items(), ndims)}
    expected = (draws,) + tuple(shape)
    out = np.asarray(rv.dist.sample(rng, expected, **lifted))
    if out.shape == expected:
        return out
    try:
        return np.broadcast_to(out, expected).copy()
    except ValueError:
        raise ValueError(f"'{rv.name}': {type(rv.dist).__name__}.sample returned draws of shape {out.shape}, "
                         f"expected {expected} (draws, *shape)") from None


def _draw_in_order(model, targets, known, rng, draws):
    """Draw each variable of ``targets`` (in the model's order) given ``known``, which it extends."""
    for rv in targets:
        known[rv.name] = draw_variable(rv, parameter_values(model, rv, known), rng, draws)
    return known


# -- var_names -----------------------------------------------------------------------------------------------
def _checked_names(model, var_names, allowed, what):
    """``var_names`` as a list, each a name in ``allowed``; TypeError or ValueError naming ``var_names``."""
    if isinstance(var_names, str):
        var_names = [var_names]
    if not isinstance(var_names, (list, tuple)) or not all(isinstance(n, str) for n in var_names):
        raise TypeError(f"var_names must be a list of variable names, got {var_names!r}")
    unknown = [n for n in var_names if n not in allowed]
    if unknown:
        where = [n for n in unknown if n in model.named_vars]
        detail = f" ({where} are not {what})" if where else ""
        raise ValueError(f"var_names: {unknown} are not {what} of the model{detail}; those are {list(allowed)}")
    return list(dict.fromkeys(var_names))


def _needed(model, names):
    """Ids of the variables that the variables and deterministics ``names`` read, themselves included."""
    return set(_reads([model.named_vars[name] for name in names]))


def _reads(nodes):
    """Every node ``nodes`` are computed from, themselves included, through variables' parameters too:
    {id: node}."""
    found, stack = {}, list(nodes)
    while stack:
        node = stack.pop()
        if id(node) in found:
            continue
        found[id(node)] = node
        stack.extend(node.inputs)
        if isinstance(node, RandomVariable):
            stack.extend(node.dist.param_nodes.values())
    return found


def _random_variables(model):
    """The model's free and observed variables in the order they were created (a topological order)."""
    return [node for node in model.named_vars.values() if isinstance(node, RandomVariable)]


# -- posterior predictive ------------------------------------------------------------------------------------
def sample_posterior_predictive(trace, model=None, var_names=None, random_seed=None, return_inferencedata=False,
                                extend_inferencedata=False, predictions=False, idata_kwargs=None, progressbar=True):
    """Draws of the observed variables given each posterior draw, as PyMC v5's ``sample_posterior_predictive``.

    Parameters
    ----------
    trace : Trace, InferenceData or dict name -> ndarray ``(S, *shape)``
        Posterior draws of every free variable: from ``nbvi.sample``, ``approx.sample(n)``, an InferenceData
        made by nbvi (its ``posterior`` group), or a dict (one chain).
    model : Model, optional
        Default: the model of the ``with`` block. Data changed with ``nbvi.set_data`` since the trace was
        made is used as it is now: the observed variables take the new data's shape (predictions).
    var_names : list of str, optional
        Observed variables to draw (default: all of them), deterministics to compute, free variables to
        copy from the trace. An observed variable read by another one gives it its drawn values when it
        is named here, its data otherwise.
    random_seed : int, optional
    return_inferencedata : bool
        Return an ``arviz.InferenceData`` (groups ``posterior_predictive``, or ``predictions`` and
        ``predictions_constant_data`` when ``predictions``; with ``observed_data`` and ``constant_data``)
        instead of a :class:`~nbvi.trace.Trace`. Needs arviz.
    extend_inferencedata : bool
        Add those groups to ``trace`` (an InferenceData) and return it.
    predictions : bool
        Name the group ``predictions`` (draws on new data) rather than ``posterior_predictive``.
    idata_kwargs : dict, optional
        ``coords`` and ``dims`` that add to or replace the model's in the InferenceData.
    progressbar : bool
        Taken as PyMC takes it, so ported calls run; no bar is shown, since the draws of each variable are
        one vectorised call.

    Returns
    -------
    Trace (name -> draws (S, *shape), the chains of ``trace``) or InferenceData
    """
    arguments.flag(progressbar, "progressbar")
    model = nbvi_model(model, "sample_posterior_predictive")
    extend_inferencedata = arguments.flag(extend_inferencedata, "extend_inferencedata")
    as_idata = arguments.flag(return_inferencedata, "return_inferencedata") or extend_inferencedata
    arguments.flag(predictions, "predictions")
    from nbvi import inference_data

    if extend_inferencedata and not inference_data.is_inference_data(trace):
        raise TypeError(f"extend_inferencedata=True needs trace to be an InferenceData, got {type(trace).__name__}")
    options = inference_data.idata_options(idata_kwargs, allowed=("coords", "dims"))
    if as_idata:
        inference_data.require_arviz("sample_posterior_predictive(return_inferencedata=True)")
    samples, chain = inference_data.posterior_draws(trace)
    draws = len(chain)
    if draws == 0:
        raise ValueError("trace has no draws: give the posterior draws of the model's free variables (a model "
                         "without free variables has no posterior to draw from: use sample_prior_predictive)")
    known = free_values(model, samples, draws)
    allowed = [rv.name for rv in _random_variables(model)] + [node.name for node in model.deterministics]
    names = [rv.name for rv in model.observed_RVs] if var_names is None else _checked_names(
        model, var_names, allowed, "variables or deterministics")
    rng = np.random.default_rng(arguments.seed(random_seed))
    chosen = set(names)
    _draw_in_order(model, [rv for rv in model.observed_RVs if rv.name in chosen], known, rng, draws)
    dets = [node for node in model.deterministics if node.name in chosen]
    known.update(deterministic_values(model, dets, known, draws))
    result = {name: known[name] for name in names}
    if not as_idata:
        return Trace(result, chain=chain)
    group = "predictions" if predictions else "posterior_predictive"
    return inference_data.predictive_inference_data(model, {group: result}, chain, options,
                                                    trace if extend_inferencedata else None)


def free_values(model, samples, draws):
    """Draws of every free variable of ``model`` from ``samples`` (name -> (S, *shape)), checked: a trace
    from another model (a variable missing or of another shape) is a ValueError naming it."""
    missing = [rv.name for rv in model.free_RVs if rv.name not in samples]
    if missing:
        raise ValueError(f"trace has no draws of the free variable(s) {missing} of the model (it has "
                         f"{sorted(samples)}): was it made from another model?")
    known = {}
    for rv in model.free_RVs:
        value = np.asarray(samples[rv.name], dtype=np.float64)
        if value.shape != (draws,) + rv.shape:
            raise ValueError(f"trace: the draws of '{rv.name}' have shape {value.shape[1:]} each, the model's "
                             f"variable has shape {rv.shape}: was the trace made from another model?")
        known[rv.name] = value
    return known


# -- prior predictive ----------------------------------------------------------------------------------------
def sample_prior_predictive(draws=500, model=None, var_names=None, random_seed=None, return_inferencedata=False,
                            idata_kwargs=None, progressbar=True, *, samples=None):
    """Ancestral draws of every variable from the prior, as PyMC v5's ``sample_prior_predictive``.

    Parameters
    ----------
    draws : int
    model : Model, optional
        Default: the model of the ``with`` block.
    var_names : list of str, optional
        Variables and deterministics to return (default: all); the variables they read are drawn too, the
        others not.
    random_seed : int, optional
    return_inferencedata : bool
        Return an ``arviz.InferenceData`` with groups ``prior`` (free variables and deterministics),
        ``prior_predictive`` (observed variables), ``observed_data`` and ``constant_data``. Needs arviz.
    idata_kwargs : dict, optional
        ``coords`` and ``dims`` that add to or replace the model's in the InferenceData.
    progressbar : bool
        Taken as PyMC takes it; no bar is shown (one vectorised draw per variable).
    samples : int, optional
        The name earlier PyMC 5 releases gave ``draws`` (``sample_prior_predictive(samples=500)``).

    Returns
    -------
    Trace (name -> draws (draws, *shape), one chain) or InferenceData

    Notes
    -----
    Potentials are left out (as in PyMC): they change the joint density, not the generative process.
    """
    arguments.flag(progressbar, "progressbar")
    if samples is not None:
        if draws != 500 and draws != samples:
            raise TypeError(f"sample_prior_predictive: give draws or samples (its older name), not both "
                            f"(draws={draws!r}, samples={samples!r})")
        draws = samples
    model = nbvi_model(model, "sample_prior_predictive")
    draws = arguments.integer(draws, "draws", minimum=1)
    as_idata = arguments.flag(return_inferencedata, "return_inferencedata")
    from nbvi import inference_data

    options = inference_data.idata_options(idata_kwargs, allowed=("coords", "dims"))
    if as_idata:
        inference_data.require_arviz("sample_prior_predictive(return_inferencedata=True)")
    variables = _random_variables(model)
    allowed = [rv.name for rv in variables] + [node.name for node in model.deterministics]
    names = allowed if var_names is None else _checked_names(model, var_names, allowed,
                                                             "variables or deterministics")
    if model.potentials:
        warnings.warn("sample_prior_predictive leaves out the model's Potentials: their effect on the other "
                      "variables is ignored, so the draws may not follow the model", UserWarning, stacklevel=2)
    rng = np.random.default_rng(arguments.seed(random_seed))
    needed = _needed(model, names)
    known = _draw_in_order(model, [rv for rv in variables if id(rv) in needed], {}, rng, draws)
    dets = [node for node in model.deterministics if node.name in names]
    known.update(deterministic_values(model, dets, known, draws))
    result = {name: known[name] for name in names}
    chain = np.zeros(draws, dtype=np.int64)
    if not as_idata:
        return Trace(result, chain=chain)
    observed = {rv.name for rv in model.observed_RVs}
    groups = {"prior": {k: v for k, v in result.items() if k not in observed},
              "prior_predictive": {k: v for k, v in result.items() if k in observed}}
    return inference_data.predictive_inference_data(model, groups, chain, options)
