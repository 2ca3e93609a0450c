"""The Model: registers random variables and turns them into one joint log-density with its gradient.

Inference algorithms see a model only through a small contract (see ARCHITECTURE.md)::

    model.ndim                     size of the flat unconstrained parameter vector
    model.initial_point_flat()     (ndim,)
    model.logp_dlogp(theta)        theta (D, ndim) -> logp (D,), grad (D, ndim), log-Jacobians included
    model.unravel(theta)           theta (D, ndim) -> {name: constrained draws (D, *shape)}

A free variable with a transform lives in unconstrained space u; its constrained value is
x = T^{-1}(u) and the density in u is p(x) |dx/du|, so

    log p(u) = log p(x(u)) + log|det dx/du|,
    d log p(u)/du = (dx/du)^T d log p/dx + d log|det dx/du| / du.
"""
import threading
import warnings
import weakref

import numpy as np

from nbvi import arguments
from nbvi.data import Data, Minibatch, depends_on_minibatch
from nbvi.graph.evaluate import Program, eval_node
from nbvi.graph.node import Constant, Leaf, Node
from nbvi.graph.ops import add_n, reshape
from nbvi.transforms import Transform

_context = threading.local()


class NotCompiledWarning(UserWarning):
    """A model's log-density runs on the slow graph walk (see ``nbvi.explain``)."""


# The compiled densities that ``Model.logp_dlogp`` tries before walking the graph, fastest first. Each is a
# function of a model returning a density (``logp_dlogp(theta)``, ``is_current()``) or a false refusal
# (``reason``, ``expected``, ``is_current()``). nbvi.compiled registers the fused kernel's and the tape's
# when nbvi is imported, so this module imports neither: the model knows only the contract.
DENSITY_BUILDERS = []


def register_density(build):
    """Add ``build`` (model -> density or a false refusal) to the compiled densities models try, last."""
    DENSITY_BUILDERS.append(build)


class NoCompiledDensity:
    """False: no compiled density takes the model. ``reason`` is the last refusal's (the most general
    path's); it stays current while the data every refusal looked at is unchanged (after a ``set_value``
    the model may fit: ask again)."""

    def __init__(self, refusals):
        self.refusals = refusals
        self.reason = refusals[-1].reason if refusals else "no compiled density is registered"
        self.expected = bool(refusals) and refusals[-1].expected

    def __bool__(self):
        return False

    def is_current(self):
        return all(refusal.is_current() for refusal in self.refusals)


class RandomVariable(Leaf):
    """A model variable: free (its value comes from the inference algorithm) or observed (its value is data).

    Attributes
    ----------
    name : str
    dist : Distribution
    observed : Node or None
    transform : Transform or None
    total_size : int, tuple or None
    """

    def __init__(self, name, dist, model, observed=None, transform=None, total_size=None):
        super().__init__(dist.shape, np.float64, name=name)
        self.dist = dist
        self.model = model
        self.observed = observed
        self.transform = transform
        self.total_size = total_size

    def value(self):
        if isinstance(self.observed, Leaf):
            return self.observed.value()
        return None

    def has_value(self):
        return isinstance(self.observed, Leaf) and self.observed.has_value()

    def random(self, size=None, rng=None):
        """Draws from this variable's distribution (parameters must not depend on free variables).

        Parameters
        ----------
        size : int or tuple, optional
            Leading axes of draws; the result has shape ``(*size, *self.shape)``.
        rng : numpy.random.Generator or int, optional

        Raises
        ------
        ValueError
            When a parameter reads a free variable, which has no value of its own: draw the variables
            together with ``nbvi.sample_prior_predictive``.
        """
        from nbvi.predictive import free_parents

        parents = free_parents(list(self.dist.param_nodes.values()))
        if parents:
            raise ValueError(
                f"'{self.name}'.random(): its parameters depend on the free variable(s) {parents}, which have no "
                f"value to draw from; draw them all together with nbvi.sample_prior_predictive(draws, "
                f"var_names=['{self.name}']) inside the model's `with` block")
        return self.dist.random(size=size, rng=rng)


def total_size_scale(total_size, name, shape, batched=None):
    """A function of the observed value's shape giving the factor total / batch that scales its log-density.

    ``total_size`` is an int (the number of rows of the full data) or a tuple of ints and None (no
    scaling along that axis), which may contain one Ellipsis: entries before it match leading axes,
    entries after it trailing axes (PyMC3's Minibatch convention). ``batched``, for an observed Minibatch,
    maps each axis it draws at random to the data's length there: those axes need a size, the others none
    or their own length.
    """
    if total_size is None:
        return None
    if total_size is Ellipsis:
        spec = (Ellipsis,)  # every axis as it is: no scaling
    elif np.ndim(total_size) == 0:
        spec = (total_size,)
    else:
        spec = tuple(total_size)
    if sum(s is Ellipsis for s in spec) > 1:
        raise ValueError(f"total_size of '{name}' may contain at most one Ellipsis, got {total_size}")
    if Ellipsis in spec:
        k = spec.index(Ellipsis)
        head, tail = spec[:k], spec[k + 1:]
    else:
        head, tail = spec, ()
    if len(head) + len(tail) > len(shape):
        raise ValueError(
            f"total_size {total_size} of '{name}' has {len(head) + len(tail)} entries but the observed "
            f"value has {len(shape)} axes (shape {shape})"
        )
    what = f"total_size {total_size!r} of '{name}': each entry"
    head = tuple(None if s is None else arguments.integer(s, what, minimum=1) for s in head)
    tail = tuple(None if s is None else arguments.integer(s, what, minimum=1) for s in tail)
    axes = [(i, s) for i, s in enumerate(head) if s is not None]
    axes += [(len(shape) - len(tail) + i, s) for i, s in enumerate(tail) if s is not None]
    for axis, total in axes:
        if total < shape[axis]:
            raise ValueError(
                f"total_size {total_size} of '{name}' is smaller than the observed value along axis {axis} "
                f"({shape[axis]} of shape {shape}): total_size is the size of the full data, which the "
                f"batch is drawn from"
            )
    if batched is not None:
        _check_batched_axes(total_size, name, shape, dict(axes), batched)

    def scale(value_shape):
        factor = 1.0
        for axis, total in axes:
            factor *= total / value_shape[axis]
        return factor

    return scale


def _check_batched_axes(total_size, name, shape, totals, batched):
    """Refuse a total_size of an observed Minibatch that leaves an axis it draws at random unscaled, or that
    scales an axis it holds whole (by a size other than that axis's length)."""
    for axis, size in enumerate(shape):
        total = totals.get(axis)
        if axis in batched and total is None:
            raise ValueError(
                f"total_size {total_size!r} of '{name}' gives no size for axis {axis}, which its minibatch draws "
                f"at random ({size} of {batched[axis]} entries): give the full data's length there "
                f"(e.g. total_size=data.shape)")
        if axis not in batched and total is not None and total != size:
            raise ValueError(
                f"total_size {total_size!r} of '{name}' gives {total} for axis {axis}, which its minibatch does "
                f"not batch (it holds all {size} entries there): give {size} or None for that axis")


def _coord_values(name, values):
    """The values of coord ``name`` as a tuple; TypeError or ValueError for something that is not 1-d."""
    if not isinstance(name, str) or not name:
        raise TypeError(f"a coord name must be a non-empty string, got {name!r}")
    if isinstance(values, (str, bytes, dict)) or not hasattr(values, "__iter__"):
        raise TypeError(f"coord '{name}': values must be a sequence (a list, tuple, range or 1-d array), "
                        f"got {values!r}")
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise ValueError(f"coord '{name}': values must be 1-d, got an array of shape {values.shape}")
        values = values.tolist()
    return tuple(values)


class Model:
    """A container of random variables, used as a context manager::

        with nbvi.Model() as model:
            x = nbvi.Normal("x", 0.0, 1.0)

    Attributes
    ----------
    free_RVs, observed_RVs, deterministics : list
    potentials : list
        Expressions whose sums add to the log-density (``nbvi.Potential``).
    named_vars : dict name -> node
        Variables, deterministics and the named Data created inside the model (``model["name"]``).
    coords : dict name -> tuple
        The values along each named dimension (PyMC's ``coords``); ``dims=`` of a variable or Data reads them.
    named_vars_to_dims : dict name -> tuple of str
        The dims of every variable and Data created with ``dims=``.

    Parameters
    ----------
    name : str
    coords : dict name -> values, optional
        E.g. ``{"county": names, "obs_id": range(n)}``; see :meth:`add_coord`.
    """

    def __init__(self, name="", coords=None):
        if not isinstance(name, str):
            raise TypeError(f"Model name must be a string, got {name!r}")
        self.name = name
        self.free_RVs = []
        self.observed_RVs = []
        self.deterministics = []
        self.potentials = []  # expressions whose sum adds to the log-density (nbvi.Potential)
        self.named_vars = {}
        self.coords = {}
        self.named_vars_to_dims = {}
        self._index_dims = set()  # dims whose values a Data or observed variable made up as 0..n-1
        if coords is not None:
            if not isinstance(coords, dict):
                raise TypeError(f"Model coords must be a dict name -> values, got {type(coords).__name__}")
            for dim, values in coords.items():
                self.add_coord(dim, values)
        self._plan = None
        self._density = None  # the compiled density logp_dlogp runs, a false NoCompiledDensity, None before

    # -- pickling ---------------------------------------------------------------------------------------
    def __getstate__(self):
        state = self.__dict__.copy()
        # the plan and the compiled density are made again at the first call: a compiled density holds
        # addresses of compiled code valid in this process only
        state["_plan"] = state["_density"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        for rv in self.observed_RVs:  # a copy's Data checks new values against the copy's variables again
            storage = rv.observed.shared if isinstance(rv.observed, Minibatch) else rv.observed
            if isinstance(storage, Data):
                storage._readers.append(weakref.ref(rv))

    # -- context ----------------------------------------------------------------------------------------
    def __enter__(self):
        stack = getattr(_context, "stack", None)
        if stack is None:
            stack = _context.stack = []
        if stack and stack[-1] is not self and self.name:
            # PyMC makes a named model entered inside another a submodel, whose variables join the outer model
            # as "inner::name"; here they would silently be left out of the outer model's density. (An unnamed
            # model entered inside another is a model of its own, e.g. one a helper function builds.)
            raise TypeError(
                f"model {self.name!r} is entered inside the `with` block of another model: nbvi has no nested "
                f"models (submodels). Create the variables in the outer model, with prefixed names (e.g. "
                f"'{self.name}::y') if you want them"
            )
        stack.append(self)
        return self

    def __exit__(self, *exc):
        _context.stack.pop()

    @staticmethod
    def get_context(what="this"):
        """The innermost model of the ``with`` blocks in force, for creating ``what`` in it; TypeError when
        there is none."""
        stack = getattr(_context, "stack", None)
        if not stack:
            raise TypeError(
                f"{what} was created outside a model: create variables inside `with nbvi.Model():` (or pass "
                f"model=...), or use Family.dist(...) for a distribution without a variable"
            )
        return stack[-1]

    def __getitem__(self, name):
        return self.named_vars[name]

    # -- coords and dims --------------------------------------------------------------------------------
    def add_coord(self, name, values):
        """Add a named dimension and its values (PyMC's ``model.add_coord``).

        Parameters
        ----------
        name : str
        values : sequence
            One value per position along the dimension (names, years, ``range(n)`` ...); kept as a tuple.
            Adding a coord the model has with the same values does nothing; other values are refused.
        """
        values = _coord_values(name, values)
        if name in self.coords and self.coords[name] != values:
            raise ValueError(f"the model already has a coord '{name}' with other values "
                             f"({len(self.coords[name])} of them); use nbvi.set_data(..., coords=) to change it")
        self.coords[name] = values

    def add_coords(self, coords):
        """:meth:`add_coord` for each entry of a dict name -> values."""
        for name, values in coords.items():
            self.add_coord(name, values)

    def shape_from_dims(self, dims, name, value_shape=None):
        """The dims of variable or Data ``name`` as a tuple and the shape the coords give them.

        Parameters
        ----------
        dims : str or sequence of str
        name : str
            Named in the errors.
        value_shape : tuple, optional
            The shape of its value (observed data or a Data's array): each dim's length must match it,
            and a dim the model does not know gets the coord ``range(length)``.

        Returns
        -------
        dims : tuple of str
        shape : tuple of int
        """
        dims = (dims,) if isinstance(dims, str) else dims
        if not isinstance(dims, (tuple, list)) or not all(isinstance(d, str) and d for d in dims):
            raise TypeError(f"dims of '{name}' must be a dim name or a tuple of them (e.g. dims=\"county\" or "
                            f"dims=(\"obs_id\",)), got {dims!r}")
        dims = tuple(dims)
        if value_shape is not None and len(value_shape) != len(dims):
            raise ValueError(f"dims {dims} of '{name}' name {len(dims)} axes but its value has shape {value_shape}")
        shape, made_up = [], []
        for axis, dim in enumerate(dims):
            if dim in self.coords:
                length = len(self.coords[dim])
                if value_shape is not None and value_shape[axis] != length:
                    raise ValueError(f"'{name}' has {value_shape[axis]} entries along dim '{dim}' (axis {axis}, "
                                     f"shape {value_shape}), but the model's coord '{dim}' has {length} values")
            elif value_shape is not None:
                length = value_shape[axis]
                made_up.append((dim, length))
            else:
                raise ValueError(f"dims of '{name}': '{dim}' is not a coord of the model (its coords: "
                                 f"{sorted(self.coords)}); add it with nbvi.Model(coords={{'{dim}': values}}) or "
                                 f"model.add_coord('{dim}', values)")
            shape.append(length)
        for dim, length in made_up:
            self.add_coord(dim, range(length))
            self._index_dims.add(dim)
        return dims, tuple(shape)

    def register_data(self, name, data, dims=None):
        """Add a named :class:`~nbvi.data.Data` (created inside the model); ``dims`` name its axes."""
        self._check_name(name)
        if dims is not None:
            dims, _shape = self.shape_from_dims(dims, name, data.shape)
            self.named_vars_to_dims[name] = dims
        self.named_vars[name] = data

    # -- registering ------------------------------------------------------------------------------------
    def _check_name(self, name):
        if not isinstance(name, str) or not name:
            raise TypeError(f"a variable name must be a non-empty string, got {name!r}")
        if name in self.named_vars:
            raise ValueError(f"the model already has a variable named '{name}'")

    def register_rv(self, name, dist, observed=None, total_size=None, transform="default"):
        """Add a variable; called by ``Family("name", ...)``. Returns its :class:`RandomVariable` node."""
        self._check_name(name)
        family = type(dist).__name__
        if observed is None:
            if dist.discrete or dist.observed_only:
                raise TypeError(
                    f"{family} variable '{name}' is discrete: nbvi fits continuous latent variables only. "
                    f"Give it observed data, or marginalise it out (e.g. with a mixture)"
                )
            if 0 in dist.shape:
                raise ValueError(f"{family} variable '{name}': shape {dist.shape} has no elements; a free "
                                 f"variable needs at least one")
            if total_size is not None:
                raise ValueError(f"total_size of '{name}' is meaningful only for observed variables")
            transform = dist.default_transform() if isinstance(transform, str) and transform == "default" else transform
            if transform is not None and not isinstance(transform, Transform):
                raise TypeError(f"transform of '{name}' must be None, \"default\" or a transform of nbvi.transforms "
                                f"(e.g. nbvi.transforms.log), got {transform!r}")
            rv = RandomVariable(name, dist, self, transform=transform)
            self.free_RVs.append(rv)
        else:
            if not (transform is None or isinstance(transform, str) and transform == "default"):
                raise ValueError(f"transform of '{name}' applies to free variables only; '{name}' is observed "
                                 f"(its value is data), so leave transform out")
            observed = self._observed_node(name, dist, observed)
            if total_size is None and depends_on_minibatch(observed):
                warnings.warn(
                    f"observed variable '{name}' reads a Minibatch but has no total_size: its log-density "
                    f"counts only the batch, so the posterior will be wrong (too wide). Pass e.g. "
                    f"total_size=data.shape",
                    UserWarning,
                    stacklevel=3,
                )
            batched = None
            if isinstance(observed, Minibatch):
                batched = {axis: observed.shared.shape[axis] for axis, _source in observed._axes}
            scale = total_size_scale(total_size, name, observed.shape, batched)
            rv = RandomVariable(name, dist, self, observed=observed, total_size=total_size)
            rv.scale = scale
            storage = observed.shared if isinstance(observed, Minibatch) else observed
            if isinstance(storage, Data):  # its set_value checks new values against this variable's support
                storage._readers.append(weakref.ref(rv))
            self.observed_RVs.append(rv)
        self.named_vars[name] = rv
        self._plan = None
        self._density = None
        return rv

    @staticmethod
    def _observed_node(name, dist, observed):
        family = type(dist).__name__
        if isinstance(observed, np.ma.MaskedArray):
            masked = int(np.count_nonzero(np.ma.getmaskarray(observed)))
            if masked:
                raise ValueError(
                    f"observed data of {family} variable '{name}' is a masked array with {masked} masked entries "
                    f"of {observed.size}: PyMC imputes masked observations as free variables, nbvi does not yet. "
                    f"Drop the masked entries (e.g. observed=data.compressed() for 1-d data), or model them explicitly")
            observed = observed.data  # nothing masked: the plain data
        if isinstance(observed, Node):
            node = observed
        else:
            array = np.asarray(observed)
            if array.dtype.kind not in "biuf":
                raise TypeError(f"observed data of '{name}' must be real numbers, got dtype {array.dtype}")
            if array.size == 0:
                raise ValueError(f"observed data of '{name}' is empty")
            if array.dtype.kind in "fc" and not np.all(np.isfinite(array)):
                bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
                raise ValueError(f"observed data of {family} variable '{name}' contains {bad} NaN or inf values")
            node = Constant(array.astype(np.float64))
        if node.shape != dist.shape:
            raise ValueError(
                f"observed data of {family} variable '{name}' has shape {node.shape}, but the variable's "
                f"shape is {dist.shape}"
            )
        if isinstance(node, Leaf) and node.value() is not None:
            # all of a minibatch's data, not only the batch it holds now
            value = node.shared.get_value() if isinstance(node, Minibatch) else node.value()[0]
            try:
                dist.check_observed_values(value)
            except ValueError as err:
                raise ValueError(f"{family} variable '{name}': {err}") from None
        return node

    def add_deterministic(self, name, node):
        self._check_name(name)
        if not isinstance(node, Node):
            array = arguments.real_array(node, f"Deterministic '{name}': the value (a graph node or numbers)")
            if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
                raise ValueError(f"Deterministic '{name}': the value contains NaN or inf")
            node = Constant(array)
        elif node.op is None or node.name is not None:
            # a variable, data or an already named expression: name a new node, leave the original's name
            node = reshape(node, node.shape)
        node.name = name
        self.deterministics.append(node)
        self.named_vars[name] = node
        return node

    # -- the flat unconstrained layout --------------------------------------------------------------------
    def _layout(self):
        """Per free variable: (rv, slice into theta, unconstrained shape)."""
        entries, start = [], 0
        for rv in self.free_RVs:
            ushape = rv.transform.unconstrained_shape(rv.shape) if rv.transform is not None else rv.shape
            size = int(np.prod(ushape, dtype=np.int64))
            entries.append((rv, slice(start, start + size), tuple(ushape)))
            start += size
        return entries, start

    @property
    def ndim(self):
        """Size of the flat unconstrained parameter vector."""
        return self._layout()[1]

    def variable_layout(self):
        """Where each free variable lives in theta: a list of (variable, slice of theta, unconstrained shape)."""
        return self._layout()[0]

    def constrained_values(self, theta):
        """Constrained values of the free variables at theta (D, ndim), in ``free_RVs`` order: ``(D, *shape)`` each."""
        _, layout, ndim = self._joint()
        return self._constrained(self._as_theta(theta, ndim), layout)[1]

    def initial_point(self):
        """Initial constrained value of every free variable: {name: array of its shape}."""
        values = {}
        # an observed variable whose data is an expression (not a leaf) stands for that expression's value
        expressions = [rv for rv in self.observed_RVs if not isinstance(rv.observed, Leaf)]
        for rv in self.free_RVs:
            known = dict(values)
            for observed in expressions:
                try:
                    known[observed] = np.asarray(eval_node(observed.observed, values))
                except ValueError:  # it reads a free variable that has no value yet
                    continue
            try:
                values[rv] = rv.dist.initial_value(replacements=known)
            except ValueError as err:
                raise ValueError(f"initial point of '{rv.name}': {err}") from None
        return {rv.name: value for rv, value in values.items()}

    def initial_point_flat(self):
        """Initial point in the flat unconstrained space, shape (ndim,)."""
        return self.flat_from_point(self.initial_point())

    def flat_from_point(self, point):
        """Map {name: constrained value} of every free variable to the flat unconstrained space (ndim,)."""
        layout, ndim = self._layout()
        missing = [rv.name for rv, _, _ in layout if rv.name not in point]
        if missing:
            raise ValueError(f"the point needs a value for every free variable; missing: {missing}")
        theta = np.empty(ndim)
        for rv, where, _ushape in layout:
            x = arguments.real_array(point[rv.name], f"value of '{rv.name}'").astype(np.float64)
            if x.shape != rv.shape:
                raise ValueError(f"value of '{rv.name}' has shape {x.shape}, the variable has shape {rv.shape}")
            if not np.all(np.isfinite(x)):
                raise ValueError(f"value of '{rv.name}' contains NaN or inf")
            x = x[None]
            with np.errstate(invalid="ignore", divide="ignore"):  # (a value outside the support is named below)
                u = np.asarray(rv.transform.forward(x) if rv.transform is not None else x)
            if not np.all(np.isfinite(u)):
                raise ValueError(f"value of '{rv.name}' lies outside its support {rv.dist.support} "
                                 f"(got {x[0].tolist()})")
            theta[where] = u.reshape(-1)
        return theta

    # -- evaluation ---------------------------------------------------------------------------------------
    def _joint(self):
        """The planned walk from free-variable values to the joint log-density (built once, then reused)."""
        if self._plan is None:
            terms = []
            for rv in self.free_RVs:
                if not rv.dist.logp_is_zero:  # (a Flat prior adds 0 to the density and to every gradient)
                    terms.extend(rv.dist.logp_terms(rv))
            for rv in self.observed_RVs:
                terms.extend(rv.dist.logp_terms(rv.observed, rv.scale))
            if self.potentials:
                from nbvi.potential import PotentialTerm

                terms.extend(PotentialTerm()(node) for node in self.potentials)
            if not terms and self.free_RVs:  # only Flat variables: one zero term keeps the program's shape
                rv = self.free_RVs[0]
                terms.extend(rv.dist.logp_terms(rv))
            if not terms:
                raise ValueError("the model has no variables")
            total = terms[0] if len(terms) == 1 else add_n(*terms)
            swaps = {rv: rv.observed for rv in self.observed_RVs if not isinstance(rv.observed, Leaf)}
            layout, ndim = self._layout()
            self._plan = (Program([total], list(self.free_RVs), swaps), layout, ndim)
        return self._plan

    def work_per_draw(self):
        """Elements the log-density's kernels loop over at one point: every observed value (a minibatch's
        batch) and every free variable. A fit uses it to decide whether threads pay off."""
        sizes = [rv.observed.size for rv in self.observed_RVs] + [rv.size for rv in self.free_RVs]
        return int(sum(sizes))

    def minibatches(self):
        """The Minibatch nodes the joint log-density reads; a fit draws new batches for them every step."""
        program = self._joint()[0]
        found = {}
        for _slot, leaf in program.leaves + program.leaves_in_place:
            for node in (leaf, getattr(leaf, "observed", None)):  # an observed variable reads its data
                if isinstance(node, Minibatch) and node._axes:
                    found[id(node)] = node
        return list(found.values())

    def _as_theta(self, theta, ndim):
        theta = arguments.real_array(theta, "theta").astype(np.float64, copy=False)
        if theta.ndim == 1:
            theta = theta[None]
        if theta.ndim != 2 or theta.shape[1] != ndim:
            raise ValueError(f"theta must have shape (D, {ndim}) or ({ndim},), got {theta.shape}")
        return theta

    def _constrained(self, theta, layout):
        """Split theta into per-variable unconstrained values and map them to constrained space."""
        draws = theta.shape[0]
        us, xs = [], []
        if len(layout) == 1 and theta.flags.c_contiguous:  # one variable: theta itself, reshaped
            rv, _, ushape = layout[0]
            u = theta.reshape((draws,) + ushape)
            return [u], [rv.transform.backward(u) if rv.transform is not None else u]
        for rv, where, ushape in layout:
            u = np.ascontiguousarray(theta[:, where]).reshape((draws,) + ushape)
            us.append(u)
            xs.append(rv.transform.backward(u) if rv.transform is not None else u)
        return us, xs

    def logp_dlogp(self, theta):
        """Joint log-density in unconstrained space and its gradient, at D points.

        Models that are a sum of scalar terms over variables and data run one specialised kernel
        (:class:`~nbvi.fused.density.FusedDensity`), most others the tape interpreter
        (:class:`~nbvi.compiled.density.CompiledDensity`): see :meth:`compiled_density`; the rest walk the
        graph (``nbvi.explain``).

        Parameters
        ----------
        theta : ndarray, shape (D, ndim)

        Returns
        -------
        logp : ndarray, shape (D,)
        grad : ndarray, shape (D, ndim)
        """
        program, layout, ndim = self._plan or self._joint()
        if not (type(theta) is np.ndarray and theta.ndim == 2 and theta.dtype == np.float64 and theta.shape[1] == ndim):
            theta = self._as_theta(theta, ndim)
        density = self.compiled_density()
        if density is not None:
            return density.logp_dlogp(theta)
        return self._graph_logp_dlogp(theta)

    def compiled_density(self):
        """The compiled density ``logp_dlogp`` runs: the first of ``DENSITY_BUILDERS`` that takes the model
        (the fused kernel for a sum of scalar terms, else the tape), or None (the graph is walked, with a
        NotCompiledWarning unless that is a documented case; ``nbvi.explain`` says why). Built again after a
        ``set_value`` of data it copied. None as well when ``logp_dlogp`` is overridden (by a subclass or on
        the instance), which the inference methods must then ask instead."""
        if type(self).logp_dlogp is not Model.logp_dlogp or "logp_dlogp" in vars(self):
            return None
        density = self._density
        if density is None or not density.is_current():
            density = self._density = self._build_density()
        return density if density else None

    def _build_density(self):
        refusals = []
        for build in DENSITY_BUILDERS:
            density = build(self)
            if density:
                return density
            refusals.append(density)
        refusal = NoCompiledDensity(refusals)
        if not refusal.expected:
            warnings.warn(
                f"the model's log-density is not compiled ({refusal.reason}): logp_dlogp walks the graph op "
                f"by op from Python, which is much slower. nbvi.explain(model) says more.",
                NotCompiledWarning, stacklevel=4)
        return refusal

    def _graph_logp_dlogp(self, theta):
        """``logp_dlogp`` by walking the graph (every model; theta already checked)."""
        program, layout, ndim = self._plan or self._joint()
        us, xs = self._constrained(theta, layout)
        logp, grads_x = program.value_and_grad(xs)
        draws = theta.shape[0]
        if logp.shape[0] != draws:  # a model whose density does not depend on theta
            logp = np.full(draws, logp[0])
        if len(layout) == 1 and layout[0][0].transform is None:  # one untransformed variable
            return logp, grads_x[0].reshape(draws, ndim)  # the program's gradients are fresh arrays
        grad = np.empty_like(theta)
        for (rv, where, _ushape), u, x, gx in zip(layout, us, xs, grads_x):
            if rv.transform is None:
                grad[:, where] = gx.reshape(draws, -1)
                continue
            log_jac, gu = rv.transform.density_terms(u, x, gx)
            logp = logp + log_jac
            grad[:, where] = gu.reshape(draws, -1)
        return logp, grad

    def logp(self, point, jacobian=False):
        """Joint log-density at one point.

        Parameters
        ----------
        point : dict
            {name: constrained value} for every free variable (e.g. ``initial_point()``).
        jacobian : bool
            Add the log-Jacobians of the transforms (the density in unconstrained space).

        Returns
        -------
        float
        """
        program, layout, ndim = self._joint()
        missing = [rv.name for rv in self.free_RVs if rv.name not in point]
        if missing:
            raise ValueError(f"logp needs a value for every free variable; missing: {missing}")
        xs = []
        for rv in self.free_RVs:
            x = arguments.real_array(point[rv.name], f"value of '{rv.name}'").astype(np.float64, copy=False)
            if x.shape != rv.shape:
                raise ValueError(f"value of '{rv.name}' has shape {x.shape}, the variable has shape {rv.shape}")
            xs.append(x[None])
        (total,) = program.run(xs)
        value = float(total[0])
        if jacobian:
            for rv, x in zip(self.free_RVs, xs):
                if rv.transform is not None:
                    value += float(rv.transform.log_jac_det(rv.transform.forward(x))[0])
        return value

    def unravel(self, theta):
        """Constrained draws of every free variable and deterministic.

        Parameters
        ----------
        theta : ndarray, shape (D, ndim) or (ndim,)

        Returns
        -------
        dict name -> ndarray (D, *shape)
        """
        _, layout, ndim = self._joint()
        theta = self._as_theta(theta, ndim)
        draws = theta.shape[0]
        _, xs = self._constrained(theta, layout)
        out = {rv.name: x for (rv, _, _), x in zip(layout, xs)}
        if self.deterministics:
            swaps = {rv: rv.observed for rv in self.observed_RVs if not isinstance(rv.observed, Leaf)}
            program = Program(self.deterministics, list(self.free_RVs), swaps)
            for node, value in zip(self.deterministics, program.run(xs)):
                out[node.name] = np.broadcast_to(value, (draws,) + value.shape[1:]).copy()
        return out


def Deterministic(name, node, dims=None, model=None):
    """Register ``node`` under ``name`` so that traces and ``unravel`` report its value.

    ``dims`` (a dim name or a tuple of them) names its axes, as for a variable; they must fit its shape.
    ``model``: the model (by default that of the ``with`` block). Returns the node (with its name set).
    """
    model = Model.get_context(f"Deterministic '{name}'") if model is None else modelcontext(model)
    if dims is not None:
        dims = model.shape_from_dims(dims, name, node.shape if isinstance(node, Node) else np.shape(node))[0]
    node = model.add_deterministic(name, node)
    if dims is not None:
        model.named_vars_to_dims[name] = dims
    return node


def modelcontext(model=None):
    """``model`` if given, else the model of the innermost ``with`` block; TypeError when there is none, and
    for something that is not a model (neither an nbvi Model nor an object with its ``ndim`` and
    ``logp_dlogp``)."""
    if model is None:
        stack = getattr(_context, "stack", None)
        if not stack:
            raise TypeError("no model given and none in context: pass model=... or call this inside "
                            "`with model:`")
        return stack[-1]
    if not isinstance(model, Model) and not (hasattr(model, "ndim") and hasattr(model, "logp_dlogp")):
        raise TypeError(f"model must be an nbvi.Model, got {model!r}")
    return model


def set_data(new_data, model=None, coords=None):
    """Set the values of named Data of a model, as PyMC's ``pm.set_data``.

    Each value goes through :meth:`~nbvi.data.Data.set_value` (same rank, only the rows may change, inside
    the support of the observed variables that read it); the compiled log-density is rebuilt on its next
    call. A Data created with ``dims`` that changes length along a dim needs that dim's new values in
    ``coords``, unless the dim was made up as ``range(n)`` (then it follows the data). Nothing changes when
    any value or coord is refused.

    Parameters
    ----------
    new_data : dict name -> array_like
        Names of Data created inside the model (``nbvi.Data("x", value)``).
    model : Model, optional
        Default: the model of the innermost ``with`` block.
    coords : dict name -> values, optional
        New values of coords whose length changes (e.g. ``{"obs_id": range(len(x_new))}``).
    """
    model = modelcontext(model)
    if not isinstance(model, Model):
        raise TypeError(f"set_data needs an nbvi.Model, got {type(model).__name__}")
    if not isinstance(new_data, dict):
        raise TypeError(f"set_data: new_data must be a dict name -> value, got {type(new_data).__name__}")
    coords = {} if coords is None else coords
    if not isinstance(coords, dict):
        raise TypeError(f"set_data: coords must be a dict name -> values, got {type(coords).__name__}")
    known = [name for name, node in model.named_vars.items() if isinstance(node, Data)]
    for name in new_data:
        if not isinstance(model.named_vars.get(name), Data):
            what = "a variable, not a Data," if name in model.named_vars else "not in the model"
            raise ValueError(f"set_data: '{name}' is {what}; the model's Data are {known}. (A Data is registered "
                             f"when created by name inside the model: nbvi.Data('{name}', value))")
    new_coords = {dim: _coord_values(dim, values) for dim, values in coords.items()}
    for name, value in new_data.items():
        dims, shape = model.named_vars_to_dims.get(name, ()), np.shape(value)
        if len(shape) != len(dims):  # (a wrong rank is set_value's error)
            continue
        for dim, length in zip(dims, shape):
            if dim in new_coords:
                if len(new_coords[dim]) != length:
                    raise ValueError(f"set_data: Data '{name}' gets {length} entries along dim '{dim}' but "
                                     f"coords['{dim}'] has {len(new_coords[dim])} values")
            elif length != len(model.coords[dim]):
                if dim not in model._index_dims:
                    raise ValueError(f"set_data: Data '{name}' gets {length} entries along dim '{dim}', whose coord "
                                     f"has {len(model.coords[dim])} values: pass its new values, "
                                     f"coords={{'{dim}': ...}}")
                new_coords[dim] = tuple(range(length))
    for dim, values in new_coords.items():
        if dim in model.coords and len(values) != len(model.coords[dim]):
            fixed = [rv.name for rv in model.free_RVs if dim in model.named_vars_to_dims.get(rv.name, ())]
            if fixed:
                raise ValueError(f"set_data: coord '{dim}' cannot change length ({len(model.coords[dim])} -> "
                                 f"{len(values)}): free variables {fixed} have that dim, and their shape is fixed")
    old = {name: model.named_vars[name]._value for name in new_data}
    try:
        for name, value in new_data.items():
            model.named_vars[name].set_value(value)
    except (TypeError, ValueError):
        for name, value in old.items():
            model.named_vars[name]._store(value)
        raise
    model.coords.update(new_coords)


__all__ = ["Deterministic", "Model", "NotCompiledWarning", "RandomVariable", "eval_node", "modelcontext", "set_data"]
