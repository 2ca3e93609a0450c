"""Data: an array in the graph whose value can be replaced, like Theano's shared variable."""
import numpy as np

from nbvi.graph.node import Leaf


class Data(Leaf):
    """A mutable array in the graph (``theano.shared`` / ``pm.Data`` of PyMC).

    Parameters
    ----------
    value : array_like
        Copied: changing the caller's array later does not change the model.
    name : str, optional

    Notes
    -----
    ``set_value`` may change the sizes (e.g. swap training rows for test rows) but not the rank; the
    node's static ``shape`` stays the one it was built with.
    """

    def __init__(self, value, name=None):
        array = self._checked(value, name)
        super().__init__(array.shape, array.dtype, name=name)
        self._store(array)

    @staticmethod
    def _checked(value, name):
        array = np.array(value)  # a copy
        if array.dtype.kind in "fc" or array.dtype == object:
            array = array.astype(np.float64)
        if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
            raise ValueError(f"Data {name or ''}: the value contains NaN or inf".replace("  ", " "))
        return array

    def _store(self, array):
        self._value = array
        self._batched = array[None]

    def get_value(self):
        """A copy of the current value."""
        return self._value.copy()

    def set_value(self, value):
        """Replace the value by a copy of ``value`` (same rank; sizes may change)."""
        array = self._checked(value, self.name)
        if array.ndim != len(self.shape):
            raise ValueError(
                f"Data {self.name or ''}: new value has rank {array.ndim} (shape {array.shape}), "
                f"the graph was built for rank {len(self.shape)} (shape {self.shape})"
            )
        self._store(array)

    def value(self):
        return self._batched
