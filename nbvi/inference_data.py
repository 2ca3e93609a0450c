"""ArviZ InferenceData from nbvi's draws, and the pointwise log-likelihood (``compute_log_likelihood``).

arviz is optional. Groups are built as plain dicts of arrays, sample groups shaped ``(chain, draw, *shape)``
and data groups ``(*shape)``, then handed to ``arviz.from_dict``, whose signature differs between arviz
0.x (one keyword per group, returns ``InferenceData``) and arviz 1.x (one dict of groups, returns an
xarray ``DataTree``); both are supported. Coords and dims come from the model (``model.coords``,
``model.named_vars_to_dims``); variables without dims get arviz's default ``<name>_dim_<i>``. Warm-up draws
that a Trace keeps (sample stat ``tune``) go to the ``warmup_posterior`` and ``warmup_sample_stats`` groups.

The pointwise log-likelihood of an observed variable holds, at each draw, the log-density of each of
its elements (each event, for families with an event axis such as MvNormal), without the ``total_size``
scaling of the joint density.
"""
from collections.abc import Mapping

import numpy as np

from nbvi.data import Data, Minibatch
from nbvi.graph.evaluate import eval_node
from nbvi.graph.node import Leaf
from nbvi.model import Model, modelcontext
from nbvi.predictive import family_params, free_values, nbvi_model, parameter_values, parameters_fit
from nbvi.trace import Trace

__all__ = ["compute_log_likelihood"]

# nbvi's NUTS statistics under arviz's names (the others already have them)
STAT_NAMES = {"mean_tree_accept": "acceptance_rate"}
SAMPLE_GROUPS = ("posterior", "sample_stats", "log_likelihood", "posterior_predictive", "predictions", "prior",
                 "prior_predictive", "warmup_posterior", "warmup_sample_stats")


# -- arviz, either version ---------------------------------------------------------------------------------
def require_arviz(what):
    """The arviz module; ImportError naming ``what`` and the extra to install when it is missing."""
    try:
        import arviz
    except ImportError:
        raise ImportError(f"{what} needs arviz, an optional dependency of nbvi: pip install \"nbvi[arviz]\"") from None
    return arviz


def _arviz_major(arviz):
    try:
        return int(str(arviz.__version__).split(".")[0])
    except (AttributeError, ValueError):
        return 0


def is_inference_data(obj):
    """Whether ``obj`` is an arviz 0.x ``InferenceData`` or an arviz 1.x (xarray) ``DataTree``."""
    return type(obj).__name__ in ("InferenceData", "DataTree")


def groups_of(idata):
    """The group names of an InferenceData or DataTree."""
    if hasattr(idata, "children"):
        return list(idata.children)
    return list(idata.groups())


def group_arrays(idata, group):
    """The variables of one group: dict name -> ndarray, sample groups as ``(chain, draw, *shape)``."""
    if group not in groups_of(idata):
        raise ValueError(f"the InferenceData has no '{group}' group (it has {groups_of(idata)})")
    dataset = idata[group]
    dataset = dataset.to_dataset() if hasattr(dataset, "to_dataset") else dataset
    out = {}
    for name in dataset.data_vars:
        array = dataset[name]
        if "chain" in array.dims and "draw" in array.dims:
            array = array.transpose("chain", "draw", ...)
        out[str(name)] = np.asarray(array.values)
    return out


def idata_options(idata_kwargs, allowed=("coords", "dims", "log_likelihood")):
    """``idata_kwargs`` as a dict with keys among ``allowed``; TypeError naming an unknown key."""
    if idata_kwargs is None:
        return {}
    if not isinstance(idata_kwargs, Mapping):
        raise TypeError(f"idata_kwargs must be a dict, got {type(idata_kwargs).__name__}")
    unknown = sorted(set(idata_kwargs) - set(allowed))
    if unknown:
        raise TypeError(f"idata_kwargs: unknown keys {unknown}; nbvi takes {list(allowed)}")
    for key in ("coords", "dims"):
        if idata_kwargs.get(key) is not None and not isinstance(idata_kwargs[key], Mapping):
            raise TypeError(f"idata_kwargs['{key}'] must be a dict, got {type(idata_kwargs[key]).__name__}")
    return dict(idata_kwargs)


def idata_request(return_inferencedata, idata_kwargs):
    """The keyword arguments of ``Trace.to_inference_data`` when an InferenceData is asked for, else None;
    checked before any draws are made (ImportError when arviz is missing)."""
    from nbvi import arguments

    if not arguments.flag(return_inferencedata, "return_inferencedata"):
        if idata_kwargs is not None:
            raise ValueError("idata_kwargs is given but return_inferencedata is False: pass "
                             "return_inferencedata=True for an InferenceData")
        return None
    options = idata_options(idata_kwargs)
    require_arviz("return_inferencedata=True")
    return options


# -- draws in and out ----------------------------------------------------------------------------------------
def posterior_draws(trace):
    """Draws of a Trace (without the warm-up draws that ``sample(discard_tuned_samples=False)`` keeps), an
    InferenceData's posterior or a dict, flattened: (dict name -> (S, *shape), chain label of each draw (S,))."""
    if isinstance(trace, Trace):
        if "tune" in trace.sample_stats:
            kept = ~np.asarray(trace.sample_stats["tune"], dtype=bool)
            return _rows(dict(trace), kept), trace.chain[kept]
        return dict(trace), trace.chain
    if is_inference_data(trace):
        arrays = group_arrays(trace, "posterior")
        if not arrays:
            return {}, np.zeros(0, dtype=np.int64)
        chains, length = next(iter(arrays.values())).shape[:2]
        flat = {k: v.reshape((chains * length,) + v.shape[2:]) for k, v in arrays.items()}
        return flat, np.repeat(np.arange(chains), length)
    if isinstance(trace, Mapping):
        trace = Trace(trace)
        return dict(trace), trace.chain
    raise TypeError(f"trace must be an nbvi.Trace, an InferenceData or a dict name -> draws, got "
                    f"{type(trace).__name__}")


def as_trace(trace, caller):
    """The posterior draws as a Trace: a Trace as it is (without the warm-up draws that
    ``sample(discard_tuned_samples=False)`` keeps), an InferenceData's posterior or a dict (chains stacked,
    ``trace.chain`` labelling them); TypeError naming ``caller`` otherwise."""
    if isinstance(trace, Trace) and "tune" not in trace.sample_stats:
        return trace
    try:
        values, chain = posterior_draws(trace)
    except TypeError:
        raise TypeError(f"{caller}: trace must be an nbvi.Trace, an InferenceData or a dict name -> draws, got "
                        f"{type(trace).__name__}") from None
    return Trace(values, chain=chain)


def split_chains(values, chain):
    """dict name -> (S, *shape) as dict name -> (chains, draws, *shape); chains cut to the shortest one."""
    chains = int(chain.max()) + 1 if len(chain) else 1
    per_chain = [np.flatnonzero(chain == c) for c in range(chains)]
    length = min(len(idx) for idx in per_chain)
    return {k: np.stack([np.asarray(v)[idx[:length]] for idx in per_chain]) for k, v in values.items()}


def observed_value(rv):
    """The observed value of ``rv`` now, without draw axis."""
    node = rv.observed
    return np.asarray(node.value()[0] if isinstance(node, Leaf) else eval_node(node))


def data_groups(model, predictions=False):
    """``observed_data`` (observed variables not read from a Minibatch) and ``constant_data`` (the named
    Data that are not observed values) of ``model``; ``predictions_constant_data`` when ``predictions``."""
    observed, used = {}, set()
    for rv in model.observed_RVs:
        storage = rv.observed.shared if isinstance(rv.observed, Minibatch) else rv.observed
        used.add(id(storage))
        if not isinstance(rv.observed, Minibatch):
            observed[rv.name] = observed_value(rv)
    constant = {name: np.asarray(node.value()[0]) for name, node in model.named_vars.items()
                if isinstance(node, Data) and id(node) not in used and node.value() is not None}
    if predictions:
        return {"predictions_constant_data": constant}
    return {"observed_data": observed, "constant_data": constant}


# -- the pointwise log-likelihood ----------------------------------------------------------------------------
def pointwise_log_likelihood(model, samples, var_names=None):
    """Log-density of each observed element (event) at each draw.

    Parameters
    ----------
    model : Model
    samples : dict name -> ndarray (S, *shape)
        Draws of every free variable.
    var_names : list of str, optional
        Observed variables (default: all).

    Returns
    -------
    dict name -> ndarray (S, *batch_shape), batch_shape the observed shape without its event axes
    """
    observed = [rv.name for rv in model.observed_RVs]
    names = observed if var_names is None else list(var_names)
    unknown = [n for n in names if n not in observed]
    if unknown:
        raise ValueError(f"var_names: {unknown} are not observed variables of the model; those are {observed}")
    draws = len(next(iter(samples.values()))) if samples else 1
    known = free_values(model, samples, draws)
    out = {}
    for rv in model.observed_RVs:
        if rv.name not in names:
            continue
        if isinstance(rv.observed, Minibatch):
            raise ValueError(f"'{rv.name}' is observed through a Minibatch: its pointwise log-likelihood needs the "
                             f"full data; build the model with nbvi.Data for it")
        value = observed_value(rv)
        params, ndims = family_params(rv.dist, parameter_values(model, rv, known))
        _check_data_fits(rv, value, params, ndims)
        lp = np.asarray(rv.dist.logp_elementwise(np.broadcast_to(value, (draws,) + value.shape), **params))
        out[rv.name] = np.broadcast_to(lp, (draws,) + lp.shape[1:]).copy()
    return out


def _check_data_fits(rv, value, params, ndims):
    """ValueError naming ``rv`` when its parameters (batched, core axes last) have a batch shape that its
    observed data does not have: predictors changed with ``set_data`` and the observed data not."""
    batch = value.shape[:value.ndim - rv.dist.ndim_supp]
    if not parameters_fit(batch, list(params.values()), ndims):
        shapes = {name: v.shape[1:max(1, v.ndim - k)] for (name, v), k in zip(params.items(), ndims)}
        raise ValueError(
            f"'{rv.name}': its observed data (shape {value.shape}) does not fit its parameters ("
            + ", ".join(f"{name} {shape}" for name, shape in shapes.items())
            + "): after nbvi.set_data of the predictors, set the observed data to match (or compute the "
              "log-likelihood before the change)")


def _log_likelihood_names(log_likelihood):
    """``log_likelihood`` (True, False or a list of observed names) as None (all), a list, or False."""
    if log_likelihood is True:
        return None
    if log_likelihood is False or log_likelihood is None:
        return False
    if isinstance(log_likelihood, (list, tuple)) and all(isinstance(n, str) for n in log_likelihood):
        return list(log_likelihood)
    raise TypeError(f"log_likelihood must be True, False or a list of observed variable names, got {log_likelihood!r}")


def compute_log_likelihood(idata_or_trace, var_names=None, model=None, extend_inferencedata=True):
    """The pointwise log-likelihood of the observed variables at each posterior draw, as PyMC's.

    Parameters
    ----------
    idata_or_trace : InferenceData or Trace
        Posterior draws of every free variable.
    var_names : list of str, optional
        Observed variables (default: all).
    model : Model, optional
        Default: the model of the ``with`` block.
    extend_inferencedata : bool
        For an InferenceData: add (or replace) its ``log_likelihood`` group and return it; when False,
        return that group alone.

    Returns
    -------
    InferenceData, its ``log_likelihood`` group, or for a Trace a :class:`~nbvi.trace.Trace` of
    name -> (S, *batch_shape) log-densities with the trace's chains.
    """
    model = nbvi_model(model, "compute_log_likelihood")
    if var_names is not None:
        var_names = [var_names] if isinstance(var_names, str) else list(var_names)
    samples, chain = posterior_draws(idata_or_trace)
    values = pointwise_log_likelihood(model, samples, var_names)
    if not is_inference_data(idata_or_trace):
        return Trace(values, chain=chain)
    new = from_groups({"log_likelihood": split_chains(values, chain)}, *_coords_dims(model, {}))
    if not extend_inferencedata:
        return new["log_likelihood"]
    return add_groups(idata_or_trace, new, replace=True)


# -- building InferenceData ----------------------------------------------------------------------------------
def _coords_dims(model, options):
    """Coords and dims of ``model`` (none without an nbvi Model), updated by ``options``."""
    coords, dims = {}, {}
    if isinstance(model, Model):
        coords = {k: list(v) for k, v in model.coords.items()}
        dims = {k: tuple(v) for k, v in model.named_vars_to_dims.items()}
    coords.update({k: list(v) for k, v in (options.get("coords") or {}).items()})
    dims.update({k: (v,) if isinstance(v, str) else tuple(v) for k, v in (options.get("dims") or {}).items()})
    return coords, dims


def _dims_that_fit(group, arrays, coords, dims):
    """The entries of ``dims`` whose coords fit the variables' arrays in ``group`` (a variable read from data
    changed with ``set_data`` may no longer fit); the others are left to arviz's default dims."""
    kept = {}
    for name, value in arrays.items():
        names = dims.get(name)
        if names is None:
            continue
        shape = np.shape(value)[2:] if group in SAMPLE_GROUPS else np.shape(value)
        ranks_fit = len(shape) == len(names) or (group == "log_likelihood" and len(shape) < len(names))
        if ranks_fit and all(d not in coords or len(coords[d]) == n for d, n in zip(names, shape)):
            kept[name] = list(names)  # (arviz 0.x adds lists to them)
    return kept


def from_groups(groups, coords, dims):
    """``arviz.from_dict`` of dict group -> dict name -> array, with either arviz version; each group gets the
    dims that fit its arrays."""
    arviz = require_arviz("InferenceData")
    idata = None
    for group, arrays in groups.items():
        if not arrays:
            continue
        kept = _dims_that_fit(group, arrays, coords, dims)
        used = {d for names in kept.values() for d in names}
        args = {"coords": {d: v for d, v in coords.items() if d in used}, "dims": kept}
        args["save_warmup"] = True  # (warm-up groups are given only when they are to be kept)
        if _arviz_major(arviz) >= 1:
            one = arviz.from_dict({group: arrays}, **args, pred_coords=args["coords"], pred_dims=kept)
        else:
            one = arviz.from_dict(**{group: arrays}, **args, pred_coords=args["coords"], pred_dims=kept)
        idata = one if idata is None else add_groups(idata, one)
    if idata is None:
        raise ValueError("no draws to put in an InferenceData")
    return idata


def add_groups(idata, new, replace=False):
    """Add the groups of ``new`` to ``idata`` (those it has are kept, or replaced when ``replace``); returns it."""
    present = groups_of(idata)
    for group in groups_of(new):
        if group in present and not replace:
            continue
        if hasattr(idata, "children"):  # arviz 1.x: a DataTree
            idata[group] = new[group]
        else:
            if group in present:
                delattr(idata, group)  # (InferenceData drops the group from its list too)
            idata.add_groups({group: new[group]})
    return idata


def trace_to_inference_data(trace, model=None, log_likelihood=False, coords=None, dims=None):
    """A Trace as InferenceData; see :meth:`nbvi.trace.Trace.to_inference_data`."""
    names = _log_likelihood_names(log_likelihood)
    require_arviz("Trace.to_inference_data()")
    if model is None:
        try:
            model = modelcontext(None)
        except TypeError:  # outside a `with` block: the draws alone
            model = None
    if names is not False and not isinstance(model, Model):
        raise ValueError("log_likelihood needs the model: pass model= or call inside `with model:`")
    stats = {STAT_NAMES.get(k, k): v for k, v in trace.sample_stats.items() if k != "tune"}
    draws = dict(trace)
    tune = np.asarray(trace.sample_stats.get("tune", np.zeros(trace.n_draws)), dtype=bool)
    groups = {}
    for prefix, rows in (("", ~tune), ("warmup_", tune)):  # the warm-up draws kept by sample(), apart
        if prefix and not rows.any():
            continue
        groups[prefix + "posterior"] = split_chains(_rows(draws, rows), trace.chain[rows])
        groups[prefix + "sample_stats"] = split_chains(_rows(stats, rows), trace.chain[rows])
    if isinstance(model, Model):
        groups.update(data_groups(model))
        if names is not False:
            kept = _rows(draws, ~tune)
            groups["log_likelihood"] = split_chains(pointwise_log_likelihood(model, kept, names), trace.chain[~tune])
    return from_groups(groups, *_coords_dims(model, {"coords": coords, "dims": dims}))


def _rows(values, rows):
    """dict name -> array, each cut to the draws where the boolean mask ``rows`` is True."""
    return {k: np.asarray(v)[rows] for k, v in values.items()}


def predictive_inference_data(model, groups, chain, options, extend=None):
    """InferenceData of predictive draws (dict group -> dict name -> (S, *shape)) with the model's data groups;
    added to ``extend`` (an InferenceData) when given."""
    predictions = "predictions" in groups
    groups = {g: split_chains(v, chain) for g, v in groups.items()}
    groups.update(data_groups(model, predictions))
    new = from_groups(groups, *_coords_dims(model, options))
    return new if extend is None else add_groups(extend, new)
