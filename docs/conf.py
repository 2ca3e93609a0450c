"""Sphinx configuration: the site built from the Markdown pages in docs/ and the numpydoc docstrings.

Build it (warnings are errors, as in CI and ``tox -e docs``)::

    pip install -e ".[docs]" && sphinx-build -W --keep-going -b html docs build/docs   (then open build/docs/index.html)

The Markdown pages are read by MyST (``$...$`` and ``$$...$$`` math, rendered by MathJax); the API reference
in ``docs/api/`` is generated from the docstrings by autodoc, whose NumPy-style sections napoleon parses.
"""
import os
import sys

from sphinx.util import logging

logger = logging.getLogger(__name__)

sys.path.insert(0, os.path.abspath(".."))  # the checkout's nbvi, installed or not

project = "nbvi"
author = "the nbvi authors"
copyright = "the nbvi authors"
release = version = "0.1.0"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
]

root_doc = "index"
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

# The pages of the site, in the order of the sidebar. index.md stays plain Markdown (it is read on GitHub too),
# so its toctree is added here, when Sphinx reads it, rather than written into the page. A page listed here that
# does not exist (yet) is left out, so a page still being written does not break the build.
PAGES = [
    "quickstart", "workflow", "tour",
    "advi", "fullrank_advi", "lowrank_advi", "svgd", "laplace", "pathfinder", "psis", "nuts",
    "predictive", "compiled", "fused", "distributions", "errors", "hpc", "reference",
    "api", "api/index", "benchmarks",
]
_here = os.path.dirname(os.path.abspath(__file__))
toc_pages = [page for page in PAGES if os.path.exists(os.path.join(_here, page + ".md"))
             or os.path.exists(os.path.join(_here, page + ".rst"))]


def _add_toctree(app, docname, source):
    """Append a hidden toctree of ``toc_pages`` to index.md (the sidebar of every page)."""
    if docname == root_doc:
        source[0] += "\n```{toctree}\n:hidden:\n:maxdepth: 2\n\n" + "\n".join(toc_pages) + "\n```\n"


def _check_api_complete(app, env):
    """Warn (an error under -W) for a name in ``nbvi.__all__`` that no page of docs/api/ documents."""
    import nbvi

    py = env.get_domain("py")
    documented = set(py.objects) | set(py.modules)
    for name in nbvi.__all__:
        if f"nbvi.{name}" not in documented:
            logger.warning(f"nbvi.{name} is public (nbvi.__all__) but no page of docs/api/ documents it")


def setup(app):
    app.connect("source-read", _add_toctree)
    app.connect("env-check-consistency", _check_api_complete)


# --- MyST (the Markdown pages) ---
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3  # links such as advi.md#6-the-optimizers resolve to headings of levels 1 to 3
myst_dmath_double_inline = True  # $$...$$ inside a paragraph is display math, as GitHub renders it

# --- autodoc, autosummary and napoleon (the API reference) ---
autodoc_default_options = {"members": True, "member-order": "bysource", "show-inheritance": True,
                           "exclude-members": "kernel"}  # the numba kernel a class runs: an implementation detail
autodoc_typehints = "none"  # the NumPy-style Parameters sections state the types
autodoc_mock_imports = ["mpi4py", "matplotlib", "arviz", "graphviz"]  # optional extras, not needed to document
autosummary_generate = False  # docs/api/ lists the objects; no stub pages are written
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_use_ivar = True

# --- HTML ---
html_theme = "furo"
html_title = "nbvi"
html_static_path = []
