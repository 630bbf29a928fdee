"""The one rule for integer parameters: "an int >= low" (1 unless said otherwise).

Every count in dmlbench (``n_workers``, ``n_blocks``, ``max_iter``, ``n_clusters``, suite
repeats, ...) is checked here, so the rule and its message are written once.
:func:`check_int` raises scikit-learn-style errors; :func:`is_int_at_least` is the same
rule as a predicate, for callers that word their own errors (suite files, the CLI).
"""

from __future__ import annotations

import numbers
from typing import Any

#: What counts as an integer: Python's and numpy's (numpy registers its integers as
#: ``numbers.Integral``; bool, a subclass of int, does not count). No numpy import here:
#: the command line's ``--help`` imports this module and must start fast.
_INTEGERS = (numbers.Integral,)


def is_int_at_least(value: Any, low: int = 1) -> bool:
    """Whether ``value`` is an integer (not a bool; numpy integers count) and ``>= low``.

    Examples
    --------
    >>> is_int_at_least(3), is_int_at_least(0), is_int_at_least(2.0), is_int_at_least(True)
    (True, False, False, False)
    >>> is_int_at_least(0, low=0)
    True
    """
    if isinstance(value, bool) or not isinstance(value, _INTEGERS):
        return False
    return int(value) >= low


def check_int(value: Any, name: str, caller: str, *, low: int = 1) -> int:
    """``value`` as an ``int``, if it is an integer ``>= low``; else a scikit-learn-style error.

    Parameters
    ----------
    value : object
        The value given. Python and numpy integers are accepted; ``bool`` is not.
    name : str
        The parameter's name, as the user wrote it (``"n_workers"``).
    caller : str
        Who takes the parameter (``"get_backend('dask')"``, ``"KMeans"``).
    low : int, default=1
        The smallest valid value.

    Returns
    -------
    int

    Raises
    ------
    TypeError
        ``value`` is not an integer: ``The 'n_workers' parameter of get_backend('dask')
        must be an int >= 1. Got 2.5 of type float instead.``
    ValueError
        ``value < low``: ``The 'n_workers' parameter of get_backend('dask') must be an
        int >= 1. Got 0.``
    """
    if isinstance(value, bool) or not isinstance(value, _INTEGERS):
        raise TypeError(
            f"The {name!r} parameter of {caller} must be an int >= {low}. "
            f"Got {value!r} of type {type(value).__name__} instead."
        )
    if value < low:
        raise ValueError(
            f"The {name!r} parameter of {caller} must be an int >= {low}. Got {value!r}."
        )
    return int(value)


__all__ = ["check_int", "is_int_at_least"]
