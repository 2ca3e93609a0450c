"""Data and Minibatch: arrays in the graph whose value can be replaced, like Theano's shared variables.

A :class:`Minibatch` is a leaf whose value is a random subset of the rows (or of several axes) of an
array kept in a :class:`Data`. During a fit the inference draws a new batch once per optimizer step,
before the step, from its own generator (see :class:`BatchSchedule`), so every term of one step sees the
same batch and a seeded fit is reproducible.
"""
import numpy as np

from nbvi import arguments
from nbvi.graph.node import Leaf, reads
from nbvi.threads import threads_for

_UNSET = object()


class Data(Leaf):
    """A mutable array in the graph (``theano.shared`` / ``pm.Data`` of PyMC).

    Two argument orders: PyMC v5's ``Data(name, value, dims=None)`` (a string first) and the older
    ``Data(value, name=None)``. A named Data created inside a ``with nbvi.Model():`` block is registered in
    the model (``model["x"]``, ``model.named_vars``), so that ``nbvi.set_data({"x": new})`` can find it.

    Parameters
    ----------
    value : array_like
        Copied: changing the caller's array later does not change the model.
    name : str, optional
    dims : str or tuple of str, optional
        Names of its axes among the model's coords (a dim the model lacks gets the coord ``range(n)``);
        only inside a model.
    mutable : bool, optional
        PyMC v5's flag: False makes a constant (``set_value`` and ``set_data`` refuse to change it); by
        default, and with True, the value can be replaced. ``MutableData`` and ``ConstantData`` are the two.

    Notes
    -----
    ``set_value`` may change the number of rows (e.g. swap training rows for test rows) but neither the
    rank nor the size of any other axis (the columns): the graph was built for those. A new value must
    also lie in the support of every observed variable that reads this Data (counts for a Poisson ...).
    """

    def __init__(self, *args, value=_UNSET, name=None, dims=None, mutable=None):
        if len(args) > 2:
            raise TypeError(f"Data takes a name and a value (or a value and a name), got {len(args)} arguments")
        if args and isinstance(args[0], str):  # PyMC v5's order: Data(name, value)
            given_name, rest = args[0], args[1:]
        else:  # Data(value, name)
            given_name, rest = (args[1] if len(args) == 2 else None), args[:1]
        if given_name is not None:
            if name is not None:
                raise TypeError(f"Data: the name is given twice ({given_name!r} and name={name!r})")
            name = given_name
        if rest:
            if value is not _UNSET:
                raise TypeError(f"Data {name}: the value is given twice (as an argument and as value=)")
            value = rest[0]
        if value is _UNSET:
            raise TypeError("Data needs a value: nbvi.Data(name, value) or nbvi.Data(value, name=None)")
        if name is not None:
            arguments.text(name, "Data name")
        if mutable is not None and not isinstance(mutable, bool):
            raise TypeError(f"Data {name}: mutable must be True, False or None, got {mutable!r}")
        array = self._checked(value, name)
        super().__init__(array.shape, array.dtype, name=name)
        self.mutable = mutable is not False
        self._readers = []  # weak references to the observed variables whose value this is
        self._index_uses = []  # weak references to the indexing ops (x[self]) that read its values as positions
        self._store(array)
        model = _model_in_context() if type(self) is Data else None  # (not a Minibatch's storage)
        if dims is not None and (model is None or name is None):
            raise TypeError(f"Data {name}: dims need a name and a model, e.g. nbvi.Data(\"x\", value, dims=\"obs_id\") "
                            f"inside `with nbvi.Model(coords=...):`")
        if model is not None and name is not None:
            model.register_data(name, self, dims)

    @staticmethod
    def _checked(value, name):
        label = f"Data {name}" if name else "Data"
        array = np.array(arguments.real_array(value, f"{label}: the value"))  # a copy
        if array.dtype.kind == "f":
            array = array.astype(np.float64)
            if not np.all(np.isfinite(array)):
                raise ValueError(f"{label}: the value contains NaN or inf")
        return array

    def _label(self):
        return f"Data {self.name}" if self.name else "Data"

    def _check_sizes(self, array):
        """Refuse a new value the graph was not built for: another rank, or other sizes past the rows."""
        if array.ndim != len(self.shape):
            raise ValueError(
                f"{self._label()}: new value has rank {array.ndim} (shape {array.shape}), "
                f"the graph was built for rank {len(self.shape)} (shape {self.shape})"
            )
        for axis in range(1, array.ndim):
            if array.shape[axis] != self.shape[axis]:
                raise ValueError(
                    f"{self._label()}: new value has {array.shape[axis]} entries along axis {axis} "
                    f"(shape {array.shape}), the graph was built for {self.shape[axis]} (shape {self.shape}); "
                    f"only the number of rows may change"
                )

    def _store(self, array):
        self._value = array
        self._batched = array[None]

    def get_value(self):
        """A copy of the current value."""
        return self._value.copy()

    def set_value(self, value):
        """Replace the value by a copy of ``value`` (same rank and column sizes; the rows may change; floats
        for floats, integers or booleans for integers; inside the support of the observed variables that
        read it). A refused value leaves the old one in place."""
        if not getattr(self, "mutable", True):
            raise TypeError(f"{self._label()} was made with mutable=False (ConstantData): its value cannot change; "
                            f"make it with nbvi.Data(name, value) to replace it later")
        array = self._checked(value, self.name)
        self._check_sizes(array)
        self._check_index_uses(array)
        if (array.dtype.kind == "f") != (self.dtype.kind == "f"):
            raise TypeError(f"{self._label()}: new value has dtype {array.dtype}, the graph was built for "
                            f"{self.dtype}")
        self._check_support(array)
        self._store(array)

    def _check_support(self, array):
        """Refuse a new value outside the support of an observed variable that reads this Data."""
        for ref in getattr(self, "_readers", ()):
            rv = ref()
            if rv is None:  # its model is gone
                continue
            try:
                rv.dist.check_observed_values(array)
            except ValueError as err:
                raise ValueError(f"{self._label()}: the new value does not fit {type(rv.dist).__name__} variable "
                                 f"'{rv.name}', which it is observed data of: {err}. The old value is kept"
                                 ) from None

    def _check_index_uses(self, array):
        """Refuse a new value that is not integer positions inside the axis of every node indexed by this Data
        (``a[group]``); the error names both."""
        for ref in getattr(self, "_index_uses", ()):
            op = ref()
            if op is not None:  # (None: its node is gone)
                op.check_positions(self, array)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_readers"] = []  # weak references do not pickle; a copy is read by no variable yet
        state["_index_uses"] = []  # (a copy's values are checked when a node reads them)
        return state

    def value(self):
        return self._batched


def _model_in_context():
    """The model of the innermost ``with`` block, or None."""
    from nbvi.model import _context

    stack = getattr(_context, "stack", None)
    return stack[-1] if stack else None


# -- Minibatch ------------------------------------------------------------------------------------------


class _Index:
    """Random positions along one axis, shared by every minibatch axis that must see the same ones.

    ``members`` lists (minibatch, axis) pairs; they all gather with ``index``. ``seed`` and ``occurrence``
    make the grouping key: separate minibatches built with the same seed and batch size draw the same rows
    at every step of a fit, as PyMC3's do (its ``Minibatch(X, 50)`` and ``Minibatch(y, 50)`` stay aligned
    because both random streams start from seed 42).
    """

    def __init__(self, size, seed, occurrence):
        self.size = size
        self.seed = seed
        self.occurrence = occurrence
        self.rng = np.random.default_rng(None if seed is None else [occurrence, seed])
        self.members = []
        self.index = None
        # the block of positions ``index`` is row ``block_row`` of, when a BatchSchedule drew it (None else)
        self.block = None
        self.block_row = 0

    def n(self):
        """Positions to draw from: the smallest length of the members' storage along their axis."""
        return min(mb.shared._value.shape[axis] for mb, axis in self.members)

    def key(self):
        return id(self) if self.seed is None else (self.seed, self.size, self.occurrence, self.n())

    def draw(self, rng=None):
        """New positions (with replacement, uniform), from ``rng`` or this source's own generator;
        every member gathers its batch again when its value is next read."""
        self.index = (self.rng if rng is None else rng).integers(0, self.n(), self.size)
        self.block = None
        for mb, _axis in self.members:
            mb._stale = True


def _parse_batch_size(batch_size, shape, seed, name):
    """``batch_size`` as a list of (axis, size, seed) for the randomly indexed axes.

    Forms (PyMC3's): None or Ellipsis (the whole array), an int (rows), or a list/tuple per leading axis
    of int, (int, seed), None (the whole axis), with at most one Ellipsis standing for the axes in between.
    """
    if batch_size is None or batch_size is Ellipsis:
        return []
    if _is_int(batch_size):
        spec = [batch_size]
    elif isinstance(batch_size, (list, tuple)):
        spec = list(batch_size)
    else:
        raise TypeError(f"Minibatch '{name}': batch_size must be an int, None or a list of int, (int, seed), "
                        f"None and Ellipsis, got {batch_size!r}")
    for item in spec:
        ok = (item is None or item is Ellipsis or _is_int(item)
              or (isinstance(item, (list, tuple)) and len(item) == 2 and all(_is_int(v) for v in item)))
        if not ok:
            raise TypeError(f"Minibatch '{name}': batch_size entries must be int, (int, seed), None or Ellipsis, "
                            f"got {item!r} in {batch_size!r}")
    if sum(item is Ellipsis for item in spec) > 1:
        raise ValueError(f"Minibatch '{name}': batch_size may contain at most one Ellipsis, got {batch_size!r}")
    if Ellipsis in spec:
        k = spec.index(Ellipsis)
        head, tail = spec[:k], spec[k + 1:]
    else:
        head, tail = spec, []
    if len(head) + len(tail) > len(shape):
        raise ValueError(f"Minibatch '{name}': batch_size {batch_size!r} has {len(head) + len(tail)} entries but "
                         f"the data has {len(shape)} axes (shape {shape})")
    placed = list(enumerate(head)) + [(len(shape) - len(tail) + i, item) for i, item in enumerate(tail)]
    axes = []
    for axis, item in placed:
        if item is None:
            continue
        size, item_seed = (item, seed) if _is_int(item) else item
        if size < 1 or size > shape[axis]:
            raise ValueError(f"Minibatch '{name}': batch size {size} along axis {axis} must be between 1 and the "
                             f"data's {shape[axis]} entries there (shape {shape})")
        axes.append((axis, int(size), item_seed))
    return axes


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


class _Storage(Data):
    """The Data behind a minibatch: all its rows. Randomly indexed axes may change size on ``set_value``
    (down to the batch size), the others may not; after a change the minibatches draw a new batch."""

    def __init__(self, value, name, dtype):
        self._minibatches = []
        self._dtype = dtype
        super().__init__(value, name=name)

    def _checked(self, value, name):
        array = Data._checked(value, name)
        return array if self._dtype is None else array.astype(self._dtype)

    def _check_sizes(self, array):
        if array.ndim != len(self.shape):
            super()._check_sizes(array)  # the rank message
        random = {axis: source.size for mb in self._minibatches for axis, source in mb._axes}
        for axis in range(array.ndim):
            if axis in random:
                if array.shape[axis] < random[axis]:
                    raise ValueError(
                        f"Minibatch {self.name}: new data has {array.shape[axis]} entries along axis {axis} "
                        f"(shape {array.shape}), fewer than the batch size {random[axis]}"
                    )
            elif array.shape[axis] != self.shape[axis]:
                raise ValueError(
                    f"Minibatch {self.name}: new data has {array.shape[axis]} entries along axis {axis} "
                    f"(shape {array.shape}), the graph was built for {self.shape[axis]} (shape {self.shape})"
                )

    def _store(self, array):
        super()._store(array)
        # (N, C): what a rows kernel reads in place (a view, no copy)
        rows = array.shape[0] if array.ndim else 1
        self.rows_view = array.reshape(rows, int(np.prod(array.shape[1:], dtype=np.int64)))
        for mb in self._minibatches:  # positions drawn for the old value may not fit the new one
            for _axis, source in mb._axes:
                source.draw()


class Minibatch(Leaf):
    """A random batch of an array's rows (or of several axes), drawn anew at every step of a fit.

    Parameters
    ----------
    data : array_like
        All the data; several arrays (``Minibatch(X, y, batch_size=100)``) give a tuple of minibatches
        with the same random rows at every step (they must have the same number of rows and be batched
        along the rows only).
    batch_size : int, list or None
        PyMC3's forms: an int (that many rows); a list with one entry per leading axis, each an int, a
        tuple ``(size, seed)`` or None (the whole axis), with at most one Ellipsis standing for the axes in
        between (entries after it apply to the last axes); None or Ellipsis for the whole array. A tuple
        at the top level is such a list too (``(10, 42)`` means 10 rows and 42 columns). Given
        positionally (``Minibatch(data, [2, None, 20])``) only with one array; default 128 rows.
    dtype : numpy dtype, optional
        Cast the data to this type (default: float64 for real data; integers stay integers).
    name : str or list of str
        Default ``"Minibatch"`` (``"Minibatch_0"``, ``"Minibatch_1"`` ... for several arrays).
    random_seed : int or None
        Seeds the batch a minibatch holds before any fit (default 42, PyMC3's) and is the default seed of
        the entries of ``batch_size``.
    update_shared_f : callable, optional
        Returns new data; ``update_shared()`` stores it.

    Attributes
    ----------
    shared : Data
        All the data; ``shared.set_value(...)`` (or ``set_value``) swaps it. The number of entries along a
        batched axis may change (not below the batch size), the other sizes may not.
    minibatch : Node
        The batch node itself (this node), for ``nbvi.clone(node, {x.minibatch: x.shared})``, the
        full-data version of an expression.

    Notes
    -----
    Rows are drawn uniformly with replacement, as in PyMC3. The node's static shape is the batch shape;
    give the observed variable ``total_size`` (e.g. ``total_size=data.shape``) so that its log-density is
    scaled to the full data, otherwise the posterior is wrong (a warning says so).

    During ``fit`` (ADVI, FullRankADVI, SVGD, ASVGD) the inference draws a new batch before every step from
    its own generator, for every minibatch the model's log-density reads. Separate minibatches whose
    batched axes have the same seed and size (and data length) get the same positions, as in PyMC3, so
    ``Minibatch(X, 50)`` and ``Minibatch(y, 50)`` stay aligned; batched axes of one minibatch are drawn
    independently of each other.

    Outside a fit the node holds one batch, drawn from ``random_seed`` when it is built; ``eval()`` returns
    that batch and does not draw a new one (unlike PyMC3, where each ``eval`` draws one): call
    ``resample()`` for a new batch. After a fit it holds the batch of the last step; ``sample_node`` of an
    expression of it uses that current batch; ``clone(node, {x.minibatch: x.shared})`` gives the
    full-data expression.

    Examples
    --------
    >>> data = np.random.rand(100, 100)
    >>> x = Minibatch(data, batch_size=10)             # 10 rows: shape (10, 100)
    >>> x = Minibatch(data, batch_size=[10, 10])       # 10 rows and 10 columns
    >>> moredata = np.random.rand(10, 20, 30, 40, 50)
    >>> Minibatch(moredata, [2, Ellipsis, 10]).eval().shape
    (2, 20, 30, 40, 10)
    >>> Minibatch(moredata, [2, None, 20]).eval().shape
    (2, 20, 20, 40, 50)
    >>> Minibatch(moredata, [2, None, 20, Ellipsis, 10]).eval().shape
    (2, 20, 20, 40, 10)
    """

    def __new__(cls, data=_UNSET, *more, batch_size=_UNSET, dtype=None, name="Minibatch", random_seed=42,
                update_shared_f=None):
        if data is _UNSET:  # copy / pickle protocol
            return super().__new__(cls)
        dtype, random_seed = _checked_options(name, dtype, random_seed, update_shared_f)
        arrays = [data, *more]
        if batch_size is _UNSET:
            if len(more) == 1 and _looks_like_batch_size(more[0], data):
                arrays, batch_size = [data], more[0]
            else:
                batch_size = 128
        if len(arrays) == 1:
            self = super().__new__(cls)
            self._build(data, batch_size, dtype, name, random_seed, update_shared_f)
            return self
        # several arrays: one minibatch each, all reading the positions of one shared row source
        names = [f"{name}_{i}" for i in range(len(arrays))] if isinstance(name, str) else list(name)
        if len(names) != len(arrays):
            raise ValueError(f"Minibatch: {len(arrays)} arrays but {len(names)} names")
        batches = []
        for array, one_name in zip(arrays, names):
            mb = super().__new__(cls)
            mb._build(array, batch_size, dtype, one_name, random_seed, update_shared_f,
                      rows=batches[0]._axes[0][1] if batches else None)
            batches.append(mb)
        return tuple(batches)

    def __init__(self, *args, **kwargs):
        pass  # built in __new__, which may return a tuple of minibatches instead

    def _build(self, data, batch_size, dtype, name, random_seed, update_shared_f, rows=None):
        shared = _Storage(data, name, dtype)
        shape = shared.shape
        if 0 in shape:
            raise ValueError(f"Minibatch '{name}': the data is empty (shape {shape})")
        parsed = _parse_batch_size(batch_size, shape, random_seed, name)
        batch_shape = list(shape)
        for axis, size, _seed in parsed:
            batch_shape[axis] = size
        super().__init__(tuple(batch_shape), shared.dtype, name=name)
        self.shared = shared
        self.update_shared_f = update_shared_f
        self.random_seed = random_seed
        self._axes = []  # (axis, _Index)
        if rows is not None:  # aligned with the minibatches built before it
            if [axis for axis, _, _ in parsed] != [0]:
                raise ValueError(f"Minibatch '{name}': several arrays are batched along their rows only; "
                                 f"batch_size {batch_size!r} batches axes {[a for a, _, _ in parsed]}")
            first = rows.members[0][0]
            if shape[0] != first.shared.shape[0]:
                raise ValueError(f"Minibatch '{name}' has {shape[0]} rows but '{first.name}' has "
                                 f"{first.shared.shape[0]}: aligned minibatches need the same number of rows")
            self._axes.append((0, rows))
        else:
            for axis, size, seed in parsed:
                occurrence = sum(1 for _, s in self._axes if (s.seed, s.size) == (seed, size))
                self._axes.append((axis, _Index(size, seed, occurrence)))
        self._single = self._axes[0] if len(self._axes) == 1 else None
        self._batched = np.empty((1,) + self.shape, dtype=self.dtype)
        self._stale = True  # the batch buffer does not hold the current positions' entries yet
        self._statistics = {}  # compute -> (block of positions, data, first row, statistics of its rows from there)
        for axis, source in self._axes:
            source.members.append((self, axis))
        shared._minibatches.append(self)
        for _axis, source in self._axes:
            if source.index is None or rows is None:
                source.draw()

    # -- the batch --------------------------------------------------------------------------------------
    def _gather(self):
        """Copy the current positions' entries of the data into the batch buffer."""
        self._stale = False
        if self._single is not None:  # the common case: one batched axis, gathered without a temporary
            axis, source = self._single
            np.take(self.shared._value, source.index, axis=axis, out=self._batched[0], mode="wrap")
            return
        out = self.shared._value
        for axis, source in self._axes:
            out = np.take(out, source.index, axis=axis)
        self._batched[0] = out

    def value(self):
        """The current batch, shape ``(1, *self.shape)``, gathered on first read after a draw."""
        if not self._axes:
            return self.shared._batched
        if self._stale:
            self._gather()
        return self._batched

    def has_value(self):
        return True

    def batches_rows_only(self):
        """Whether only the first axis is drawn at random (a rows kernel can then read the batch in place)."""
        return self._single is not None and self._single[0] == 0

    def rows_in_place(self):
        """What a rows kernel needs to read this batch without copying it: the data as ``(N, C)`` and the
        positions of this step's rows, int64 ``(R,)``. Only for :meth:`batches_rows_only` minibatches."""
        return self.shared.rows_view, self._single[1].index

    def block_statistics(self, compute, steps=None):
        """``compute``'s statistics of this step's batch, read in place; only for :meth:`batches_rows_only`.

        During a fit the positions of the next batches (``BatchSchedule.steps_per_draw``) are drawn at once;
        the first request computes the statistics of all of them in one call (long enough for threads to
        pay), the next steps only look theirs up. A new block, ``set_value`` or ``resample`` starts afresh.

        Parameters
        ----------
        compute : callable ``(data (N, C), rows int64 (S, R)) -> (S, ...)``
            Statistics of each of S sets of rows, e.g. :func:`~nbvi.distributions.normal.normal_column_statistics`.
        steps : int, optional
            The statistics of the last ``steps`` batches of the block, up to this step's, with a leading
            axis of that length (after ``BatchSchedule.advance(steps)``).

        Returns
        -------
        ndarray, ``compute``'s result for this step's rows (a view, not to be modified).
        """
        data = self.shared.rows_view
        source = self._single[1]
        block = source.block
        if block is None:  # drawn outside a schedule: this batch alone
            if steps not in (None, 1):
                raise ValueError(f"Minibatch '{self.name}': statistics of {steps} steps need a block of positions "
                                 f"drawn by a BatchSchedule; this batch was drawn on its own")
            stats = compute(data, source.index[None])
            return stats[0] if steps is None else stats
        first = source.block_row + 1 - (1 if steps is None else steps)  # the first row asked for
        cached = self._statistics.get(compute)
        if cached is None or cached[0] is not block or cached[1] is not data or cached[2] > first:
            # a new block, or new data mid-block (set_value): the rows from the first one asked for on
            with threads_for((len(block) - first) * block.shape[1] * data.shape[1]):  # threads pay, even in a small fit
                cached = self._statistics[compute] = (block, data, first, compute(data, block[first:]))
        start = first - cached[2]
        return cached[3][start] if steps is None else cached[3][start:start + steps]

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_statistics"] = {}  # a cache of statistics of drawn batches: computed again when needed
        return state

    @property
    def minibatch(self):
        return self

    def resample(self, rng=None):
        """Draw a new batch (from this minibatch's own generator, or ``rng``); aligned minibatches follow."""
        if rng is not None and not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), got {rng!r}")
        for _axis, source in self._axes:
            source.draw(rng)

    # -- the storage ------------------------------------------------------------------------------------
    def set_value(self, value):
        """Replace all the data (``shared.set_value``) and draw a new batch from it."""
        self.shared.set_value(value)

    def get_value(self):
        """A copy of all the data."""
        return self.shared.get_value()

    def update_shared(self):
        """Store the data returned by ``update_shared_f()``."""
        if self.update_shared_f is None:
            raise ValueError(f"Minibatch '{self.name}': no update_shared_f was given")
        self.set_value(self.update_shared_f())


def _checked_options(name, dtype, random_seed, update_shared_f):
    """Minibatch's options, checked before any work: (dtype as a numpy dtype or None, random_seed as an int
    or None); TypeError or ValueError naming the option otherwise."""
    names = [name] if isinstance(name, str) else name
    if not isinstance(names, (list, tuple)) or not names or not all(isinstance(n, str) and n for n in names):
        raise TypeError(f"Minibatch: name must be a non-empty string or a list of them, got {name!r}")
    if dtype is not None:
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"Minibatch {name!r}: dtype {dtype!r} is not a numpy dtype") from None
        if dtype.kind not in "biuf":
            raise TypeError(f"Minibatch {name!r}: dtype must be a real number type (float64, int64 ...), got {dtype}")
    if random_seed is not None:
        random_seed = arguments.integer(random_seed, f"Minibatch {name!r}: random_seed")
    if update_shared_f is not None and not callable(update_shared_f):
        raise TypeError(f"Minibatch {name!r}: update_shared_f must be callable (returning new data), got "
                        f"{update_shared_f!r}")
    return dtype, random_seed


def _looks_like_batch_size(value, data):
    """Whether a second positional argument is a batch_size (PyMC3's ``Minibatch(data, [2, None, 20])``)
    rather than a second array: an int, None, Ellipsis, or a short list/tuple (at most one entry per axis
    of ``data``, plus an Ellipsis) of int, (int, int), None and Ellipsis. Arrays are never batch sizes."""
    if value is None or value is Ellipsis or _is_int(value):
        return True
    if not isinstance(value, (list, tuple)) or not value:
        return False
    entries = [item for item in value if item is not Ellipsis]
    return len(entries) <= np.ndim(data) and all(
        item is None or _is_int(item)
        or (isinstance(item, (list, tuple)) and len(item) == 2 and all(_is_int(v) for v in item))
        for item in entries
    )


class BatchSchedule:
    """The minibatches a model's log-density reads, drawn anew before every optimizer step.

    Sources of positions with the same grouping key (see :class:`_Index`) draw once per step and share
    the positions. The positions of ``steps_per_draw`` steps come from one ``rng.integers`` call (a call
    costs about as much as drawing 500 positions), one row of that block per step; a change in the data's
    length (``set_value`` from a callback) starts a new block. A fused minibatch term computes the
    statistics of a whole block in one parallel call, and the threads of such a call take a few hundred
    microseconds to wake up on this project's machine: long blocks pay for that less often. So a block
    holds up to ``MAX_STEPS_PER_DRAW`` steps, a power of two, as many as keep it within
    ``POSITIONS_PER_DRAW`` numbers (positions, or two statistics per column of a batch, whichever is more).

    Parameters
    ----------
    minibatches : list of Minibatch

    Attributes
    ----------
    steps_per_draw : int
    """

    MAX_STEPS_PER_DRAW = 256
    POSITIONS_PER_DRAW = 1 << 17

    @classmethod
    def steps_for(cls, per_step):
        """Steps in a block of ``per_step`` numbers a step (positions, statistics or noise): a power of two
        from 1 to MAX_STEPS_PER_DRAW, at most POSITIONS_PER_DRAW numbers in all."""
        steps = 1
        while steps < cls.MAX_STEPS_PER_DRAW and 2 * steps * per_step <= cls.POSITIONS_PER_DRAW:
            steps *= 2
        return steps

    def __init__(self, minibatches):
        self.minibatches = list(minibatches)
        groups = {}
        for mb in self.minibatches:
            for _axis, source in mb._axes:
                sources = groups.setdefault(source.key(), [])
                if source not in sources:
                    sources.append(source)
                self._check_aligned(source)
        self.groups = list(groups.values())
        self._members = [[m for source in sources for m in source.members] for sources in self.groups]
        # a block holds positions and, for a fused term, two statistics per column of each step's batch
        width = [max(source.size, 2 * int(np.prod(mb.shape, dtype=np.int64)) // mb.shape[axis])
                 for sources in self.groups for source in sources for mb, axis in source.members]
        self.steps_per_draw = self.steps_for(max(width, default=1))
        self._blocks = [None] * len(self.groups)  # per group: positions (steps_per_draw, size), next row, n

    @staticmethod
    def _check_aligned(source, group=()):
        """Raise ValueError unless every minibatch sharing the positions of ``source`` (and of the other
        sources of its ``group``) has the same length along its batched axis."""
        members = [m for other in (source, *group) for m in other.members]
        sizes = {(mb.name, mb.shared._value.shape[axis]) for mb, axis in members}
        if len({n for _, n in sizes}) > 1:
            raise ValueError(f"aligned minibatches have different lengths: {sorted(sizes)}; "
                             f"set_value each of them to the same number of rows")

    def draw(self, rng):
        """New positions for every group, from ``rng``. A minibatch gathers its batch only when something
        reads its value; a log-density term whose rows kernel reads the rows in place never does."""
        self.steps_available(rng, 1)
        self.advance(1)

    def steps_available(self, rng, most):
        """Draw a new block of positions from ``rng`` for every group whose block is used up (or whose data
        changed length), and return how many of the next steps, at most ``most``, every group's block holds.

        ``draw`` is ``steps_available(rng, 1)`` then ``advance(1)``; a block of fused steps advances by more.
        """
        available = most
        for g, sources in enumerate(self.groups):
            # every member's data must hold the positions (a list, not a generator: this runs every step)
            n = min([mb.shared._value.shape[axis] for mb, axis in self._members[g]])
            block = self._blocks[g]
            if block is None or block[1] == self.steps_per_draw or block[2] != n:
                if block is not None and block[2] != n:  # set_value between steps: still aligned?
                    self._check_aligned(sources[0], sources)
                block = self._blocks[g] = [rng.integers(0, n, (self.steps_per_draw, sources[0].size)), 0, n]
            available = min(available, self.steps_per_draw - block[1])
        return available

    def advance(self, steps):
        """Take ``steps`` steps of every group's block (at most :meth:`steps_available`): the minibatches then
        hold the batch of the last one (``Minibatch.block_statistics(compute, steps)`` gives all of them)."""
        for g, sources in enumerate(self.groups):
            block = self._blocks[g]
            positions, row = block[0], block[1] + steps - 1
            index = positions[row]
            for source in sources:
                source.index = index
                source.block = positions
                source.block_row = row
            for mb, _axis in self._members[g]:  # (aligned partners outside the density too)
                mb._stale = True
            block[1] = row + 1

    def rewind(self, steps):
        """Hand back the last ``steps`` steps taken by :meth:`advance` (a block of fused steps that stopped at
        a non-finite loss): the minibatches then hold the batch of the step before them again."""
        for block in self._blocks:
            block[1] -= steps + 1
        self.advance(1)


def depends_on_minibatch(node):
    """Whether ``node`` reads a Minibatch that batches some axis."""
    return reads(node, lambda current: isinstance(current, Minibatch) and bool(current._axes))


__all__ = ["BatchSchedule", "Data", "Minibatch"]


def MutableData(name, value, *, dims=None):
    """PyMC v5's ``pm.MutableData(name, value, dims=None)``: ``Data(name, value, dims=dims)``, replaceable with
    ``nbvi.set_data``."""
    return Data(name, value, dims=dims, mutable=True)


def ConstantData(name, value, *, dims=None):
    """PyMC v5's ``pm.ConstantData(name, value, dims=None)``: a named Data whose value cannot change
    (``set_data`` refuses it); in the model, in traces' ``constant_data`` group, by name."""
    return Data(name, value, dims=dims, mutable=False)
