"""Global settings. nbvi computes in float64; ``floatX`` is kept so code written for Theano ports."""

from nbvi import arguments

floatX = "float64"


def floatX_array(x):
    """``x`` as a float64 array (``pm.floatX`` of the PyMC3 notebook)."""
    return arguments.real_array(x, "floatX's argument").astype(floatX)
