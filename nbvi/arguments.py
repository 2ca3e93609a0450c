"""Checks of the arguments of nbvi's entry points: each names the argument and says what is allowed.

A float where an integer is meant is accepted only when it is integral (``fit(1e4)``); strings, None and
booleans where a number is meant are refused rather than converted.
"""
import numbers

import numpy as np


def integer(value, name, minimum=0):
    """``value`` as an int >= ``minimum``; TypeError or ValueError naming ``name`` otherwise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if not float(value).is_integer():
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return int(value)


def number(value, name, minimum=None, strictly=False):
    """``value`` as a finite float (> ``minimum`` when ``strictly``, else >=); errors name ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if minimum is not None and (value <= minimum if strictly else value < minimum):
        raise ValueError(f"{name} must be {'>' if strictly else '>='} {minimum}, got {value!r}")
    return value


def flag(value, name):
    """``value`` as a bool; only True or False (a string such as "no" is not one)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def functions(values, name):
    """``values`` (None or a list of callables) as a list; TypeError naming the first that is not callable."""
    if values is None:
        return []
    if callable(values) or isinstance(values, (str, bytes)):
        raise TypeError(f"{name} must be a list of callables, got {values!r}")
    values = list(values)
    for position, value in enumerate(values):
        if not callable(value):
            raise TypeError(f"{name}[{position}] must be callable (approx, losses, i), got {value!r}")
    return values


def seed(value, name="random_seed"):
    """``value`` accepted by ``numpy.random.default_rng`` (None, an int >= 0, a sequence of them, a
    SeedSequence or a Generator); TypeError or ValueError naming ``name`` otherwise. Returns it unchanged."""
    if isinstance(value, (bool, np.bool_, str, bytes, float)):
        raise TypeError(f"{name} must be None, a non-negative integer or a numpy Generator, got {value!r}")
    try:
        np.random.default_rng(value)
    except (TypeError, ValueError) as err:
        raise type(err)(f"{name}: {err} (got {value!r})") from None
    return value


def text(value, name):
    """``value`` as a non-empty str; TypeError naming ``name`` otherwise (a name is never converted)."""
    if not isinstance(value, str) or not value:
        raise TypeError(f"{name} must be a non-empty string, got {value!r}")
    return value


def real_array(value, name, booleans=True):
    """``value`` as an ndarray of real numbers (its own integer or float dtype); TypeError naming ``name`` for
    None, strings, complex numbers, objects, ragged lists and (unless ``booleans``) booleans."""
    if value is None:
        raise TypeError(f"{name} must be real numbers, got None")
    try:
        array = np.asarray(value)
    except ValueError:  # a ragged list
        raise TypeError(f"{name} must be a rectangular array of real numbers, got {value!r}") from None
    if array.dtype == object:
        try:
            array = array.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be real numbers, got {value!r}") from None
    allowed = "iuf" + ("b" if booleans else "")
    if array.dtype.kind not in allowed:
        raise TypeError(f"{name} must be real numbers, got dtype {array.dtype} ({_short(value)})")
    return array


def choice(value, name, allowed):
    """``value`` when it is one of ``allowed`` (strings compared exactly); ValueError naming them otherwise."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")
    return value


def _short(value):
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."
