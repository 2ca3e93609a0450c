"""Write the kernels of every scalar family from its one declaration (nbvi/distributions/family.py).

Usage: ``python scripts/generate_families.py`` after adding a scalar family or changing a declaration.
It rewrites nbvi/distributions/elementwise.py and nbvi/fused/families.py, then the digest of the
compiled sources (nbvi/numba_cache.py). tests/distributions/test_generated.py fails while the checked-in
files differ from what this writes.
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import nbvi.distributions  # noqa: E402, F401  (imports every family module, so every declaration)
from nbvi.distributions.family import DECLARED  # noqa: E402

ELEMENTWISE = "nbvi/distributions/elementwise.py"
FAMILIES = "nbvi/fused/families.py"
DIGEST_LINE = re.compile(r'^COMPILED_SOURCES_DIGEST = "[0-9a-f]*".*$', re.MULTILINE)
DIGEST_TEMPLATE = ('COMPILED_SOURCES_DIGEST = "{}"  # of the njit sources compiled into this module\'s kernels: '
                   'nbvi.numba_cache')


def declarations():
    """Every ScalarFamily, sorted by name (so the numbers do not depend on import order)."""
    return [DECLARED[name] for name in sorted(DECLARED)]


LINE_LENGTH = 110  # ruff.toml's


def imports(families, extra=None):
    """``from <module> import <function>, ...`` lines for the scalar functions (and ``extra``, module ->
    names), one per module, sorted."""
    by_module = {module: list(names) for module, names in (extra or {}).items()}
    for family in families:
        function = family.logp_grad.py_func
        by_module.setdefault(function.__module__, []).append(function.__name__)
    lines = []
    for module, names in sorted(by_module.items()):
        line = f"from {module} import {', '.join(sorted(names))}"
        if len(line) > LINE_LENGTH:  # (as ruff's isort wraps it: one name a line, in parentheses)
            line = "\n".join([f"from {module} import ("] + [f"    {name}," for name in sorted(names)] + [")"])
        lines.append(line)
    return lines


def _partials(family):
    """Names of the partial derivatives the scalar function returns after logp, in order."""
    value = [] if family.discrete else ["x"]
    return value + list(family.gradients)


def elementwise_kernel(family):
    """Source of ``<name>_kernel``: log-density summed per draw, and every argument's summed gradient."""
    args = ["x", *family.params]
    partials = _partials(family)
    lines = [
        "@njit(cache=True)",
        f"def {family.name}_kernel({', '.join(args)}):",
        f'    """{family.name}: arguments (D_i, n_i), n_i in {{1, n}}; logp (D,) and the gradient of each argument',
        '    (D_i, n_i), summed over the elements it is broadcast to (zero for arguments without a derivative)."""',
        f"    n_draws = max({', '.join(f'{a}.shape[0]' for a in args)})",
        f"    n_elements = max({', '.join(f'{a}.shape[1]' for a in args)})",
        "    logp = np.zeros(n_draws)",
    ]
    lines += [f"    g_{a} = np.zeros((n_draws, {a}.shape[1]))" for a in args]
    call = f"{family.logp_grad.py_func.__name__}({', '.join(f'at({a}, d, j)' for a in args)})"
    lines += [
        "    for d in range(n_draws):",
        "        for j in range(n_elements):",
        f"            lp, {', '.join(f'd_{p}' for p in partials)} = {call}" if partials else f"            lp = {call}[0]",
        "            logp[d] += lp",
    ]
    lines += [f"            g_{p}[d, spot({p}, j)] += d_{p}" for p in partials]
    lines.append(f"    return logp, {', '.join(f'g_{a}' for a in args)}")
    return "\n".join(lines)


def pointwise_kernel(family):
    """Source of ``<name>_pointwise``: the log-density of each element."""
    args = ["x", *family.params]
    call = f"{family.logp_grad.py_func.__name__}({', '.join(f'at({a}, d, j)' for a in args)})"
    return "\n".join([
        "@njit(cache=True)",
        f"def {family.name}_pointwise({', '.join(args)}):",
        f'    """{family.name}: arguments (D_i, n_i), n_i in {{1, n}}; the log-density of each element, (D, n)."""',
        f"    n_draws = max({', '.join(f'{a}.shape[0]' for a in args)})",
        f"    n_elements = max({', '.join(f'{a}.shape[1]' for a in args)})",
        "    logp = np.empty((n_draws, n_elements))",
        "    for d in range(n_draws):",
        "        for j in range(n_elements):",
        f"            logp[d, j] = {call}[0]",
        "    return logp",
    ])


def pointwise_grad_kernel(family):
    """Source of ``<name>_pointwise_grad``: the log-density of each element and each argument's partial
    derivative at each element (zero for arguments without one)."""
    args = ["x", *family.params]
    partials = _partials(family)
    call = f"{family.logp_grad.py_func.__name__}({', '.join(f'at({a}, d, j)' for a in args)})"
    lines = [
        "@njit(cache=True)",
        f"def {family.name}_pointwise_grad({', '.join(args)}):",
        f'    """{family.name}: arguments (D_i, n_i), n_i in {{1, n}}; the log-density of each element and the partial',
        '    derivative with respect to each argument at each element, each (D, n)."""',
        f"    n_draws = max({', '.join(f'{a}.shape[0]' for a in args)})",
        f"    n_elements = max({', '.join(f'{a}.shape[1]' for a in args)})",
        "    logp = np.empty((n_draws, n_elements))",
    ]
    lines += [f"    g_{a} = np.zeros((n_draws, n_elements))" for a in args]
    lines += [
        "    for d in range(n_draws):",
        "        for j in range(n_elements):",
        f"            logp[d, j], {', '.join(f'g_{p}[d, j]' for p in partials)} = {call}" if partials
        else f"            logp[d, j] = {call}[0]",
    ]
    lines.append(f"    return logp, {', '.join(f'g_{a}' for a in args)}")
    return "\n".join(lines)


def elementwise_source(families, digest=""):
    header = [
        '"""The elementwise and pointwise kernels of every scalar family. GENERATED by',
        "scripts/generate_families.py from the ScalarFamily declarations (nbvi/distributions/family.py): do not",
        "edit; change the family's declaration or scalar function and run the script.",
        "",
        "Arguments are laid out as :mod:`nbvi.distributions.layout` describes: 2-D arrays (D_i, n_i) with n_i",
        "either 1 (one value for every element) or n.",
        '"""',
        "import numpy as np",
        "from numba import njit",
        "",
        *imports(families, {"nbvi.distributions.layout": ["at", "spot"]}),
        "",
        DIGEST_TEMPLATE.format(digest),
    ]
    body = []
    for family in families:
        body += ["", "", elementwise_kernel(family), "", "", pointwise_kernel(family), "", "",
                 pointwise_grad_kernel(family)]
    return "\n".join(header + body) + "\n"


def switch_case(family):
    """The switch's branch for one family: its partials moved to the slots (d/dx, d/da, d/db, d/dc, d/de)."""
    slots = {"x": "0.0", **{p: "0.0" for p in family.params}}
    names = {"x": "x", **dict(zip(family.params, ("a", "b", "c", "e")))}
    partials = _partials(family)
    for p in partials:
        slots[p] = f"d_{names[p]}"
    call = f"{family.logp_grad.py_func.__name__}(x{''.join(', ' + names[p] for p in family.params)})"
    returned = ["lp", slots["x"]] + [slots[p] for p in family.params]
    returned += ["0.0"] * (6 - len(returned))
    unpack = ", ".join(["lp"] + [f"d_{names[p]}" for p in partials])
    return "\n".join([
        f"    if family == {family.name.upper()}:",
        f"        {unpack} = {call}" if partials else f"        lp = {call}[0]",
        f"        return {', '.join(returned)}",
    ])


def families_source(families, digest=""):
    names = [f.name.upper() for f in families]
    header = [
        '"""The scalar families the compiled interpreter and the fused kernel evaluate, behind one switch. GENERATED',
        "by scripts/generate_families.py from the ScalarFamily declarations (nbvi/distributions/family.py): do",
        "not edit; change a family's declaration and run the script.",
        "",
        "The kernels are compiled once for all models, so they cannot take a family's scalar function as an",
        "argument (a numba function passed as an argument is not cached on disk); instead each family gets a",
        "number, and :func:`family_logp_grad` calls the family's own function for that number.",
        '"""',
        "import numpy as np",
        "from numba import njit",
        "",
        *imports(families),
        "",
        DIGEST_TEMPLATE.format(digest),
        "",
        *[f"{name} = {k + 1}" for k, name in enumerate(names)],
        "",
        "# family name -> (number, number of parameters)",
        "NUMBERS = {",
        *[f'    "{f.name}": ({f.name.upper()}, {len(f.params)}),' for f in families],
        "}",
        "",
        "",
        "def family_of(dist):",
        '    """``(family number, number of parameters)`` of a distribution of a scalar family, else None."""',
        '    family = getattr(dist, "family", None)',
        "    return None if family is None else NUMBERS.get(family.name)",
        "",
        "",
        "@njit(cache=True)",
        "def family_logp_grad(family, x, a, b, c, e):",
        '    """log p(x | a, b, c, e) of one element for family number ``family``, and its partial derivatives.',
        "",
        "    Parameters not used by the family are ignored and get derivative 0; so does x for discrete families.",
        "",
        "    Returns",
        "    -------",
        "    (logp, d/dx, d/da, d/db, d/dc, d/de)",
        '    """',
    ]
    body = [switch_case(f) for f in families]
    tail = ["    return np.nan, 0.0, 0.0, 0.0, 0.0, 0.0  # unreachable: the plans hold only the numbers above"]
    return "\n".join(header + body + tail) + "\n"


def current_digest(path):
    """The digest line's value in an existing file ('' when there is none)."""
    if not path.exists():
        return ""
    found = re.search(r'^COMPILED_SOURCES_DIGEST = "([0-9a-f]*)"', path.read_text(encoding="utf-8"), re.MULTILINE)
    return found.group(1) if found else ""


def generated_sources(root=ROOT):
    """{relative path: source text} of the generated files, with the digests they carry now."""
    families = declarations()
    return {
        ELEMENTWISE: elementwise_source(families, current_digest(root / ELEMENTWISE)),
        FAMILIES: families_source(families, current_digest(root / FAMILIES)),
    }


def main():
    for relative, text in generated_sources().items():
        (ROOT / relative).write_text(text, encoding="utf-8")
        print(f"wrote {relative}")
    from nbvi.numba_cache import write_compiled_sources_digest

    print("digest", write_compiled_sources_digest())


if __name__ == "__main__":
    main()
