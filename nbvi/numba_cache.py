"""Where numba keeps nbvi's compiled kernels, when the usual places cannot be written.

numba caches a ``cache=True`` kernel beside its source (``__pycache__``) or in the user's cache directory
(``~/.cache/numba``); when neither can be written (a read-only install with a read-only HOME: a container,
a shared HPC module) it refuses to define the kernel at all ("cannot cache function ...: no locator
available"), so ``import nbvi`` would fail. :func:`ensure_cache_location` then points numba at a temporary
directory for this process, with one warning: kernels compile in each new process, as without a cache.
"""
import hashlib
import os
import re
import tempfile
import warnings
from pathlib import Path


class NoCacheWarning(UserWarning):
    """numba's disk cache is not kept between processes (no writable place for it)."""


def _writable_directory(path):
    """Whether ``path`` is (or can be made) a directory in which a file can be created."""
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError:
        return False
    return True


def _user_cache_directory():
    from numba.misc.appdirs import AppDirs

    return AppDirs(appname="numba", appauthor=False).user_cache_dir


def ensure_cache_location(package_directory=None, user_directory=None):
    """Point numba's cache at a temporary directory when it can write neither beside nbvi's sources nor in the
    user's cache directory, and ``NUMBA_CACHE_DIR`` does not say where; warn once (:class:`NoCacheWarning`).

    Parameters
    ----------
    package_directory, user_directory : str, optional
        The places to try (by default nbvi's ``__pycache__`` and numba's user cache directory).

    Returns
    -------
    str or None
        The temporary directory chosen, or None when numba has a place of its own.
    """
    from numba.core import config

    if config.CACHE_DIR:
        return None
    if package_directory is None:
        package_directory = os.path.join(os.path.dirname(os.path.abspath(__file__)), "__pycache__")
    if _writable_directory(package_directory):
        return None
    if _writable_directory(user_directory if user_directory is not None else _user_cache_directory()):
        return None
    config.CACHE_DIR = tempfile.mkdtemp(prefix="nbvi-numba-cache-")
    warnings.warn(
        f"numba can write its cache neither beside nbvi ({package_directory}) nor in the user's cache "
        f"directory, so nbvi's kernels are cached in {config.CACHE_DIR} for this process only: each new "
        f"process compiles them again. Set NUMBA_CACHE_DIR to a writable directory to keep them.",
        NoCacheWarning, stacklevel=3)
    return config.CACHE_DIR


# -- kernels compiled into other modules' caches ----------------------------------------------------------
# numba's disk cache of a kernel is checked against the kernel's own source file only, but a kernel holds
# compiled copies of every njit function it calls: the tape interpreter inside the ADVI block runner and
# the NUTS trajectory, the families inside the fused kernel... After an edit of a callee file, a cached
# caller would go on running the old callee. So each module below carries the digest of the callee sources
# (COMPILED_SOURCES_DIGEST = "..."): a change of a callee changes the digest, a test
# (tests/test_numba_cache.py) fails until the modules carry the new one (`python scripts/update_digest.py`
# writes it), and that edit of the modules makes numba compile them afresh.
COMPILED_SOURCES = ("compiled/interpreter.py", "compiled/axis_ops.py", "compiled/addresses.py", "fused/kernel.py", "fused/families.py", "fused/transforms.py",
                    "fused/optimizers.py", "numerics.py", "variational/advi.py", "variational/optimizers.py",
                    "variational/stein.py", "sampling/nuts.py", "distributions/*.py")
# every module whose kernels call njit functions of another module above, but the helpers of
# distributions/layout.py and special.py, which are not expected to change (tests/test_numba_cache.py finds
# them: the generated distributions/elementwise.py calls every family's scalar function, the zero-inflated
# families their count family's, ...)
DIGEST_HOLDERS = ("compiled/interpreter.py", "compiled/axis_ops.py", "compiled/advi_steps.py", "compiled/svgd_steps.py", "compiled/trajectory.py",
                  "fused/kernel.py", "fused/svgd_steps.py",
                  "distributions/elementwise.py", "distributions/betabinomial.py", "distributions/binomial.py",
                  "distributions/categorical.py", "distributions/exgaussian.py", "distributions/geometric.py",
                  "distributions/halfstudentt.py", "distributions/negativebinomial.py", "distributions/normal.py",
                  "distributions/skewnormal.py", "distributions/truncatednormal.py", "distributions/zeroinflatedbinomial.py",
                  "distributions/zeroinflatednegativebinomial.py", "distributions/zeroinflatedpoisson.py",
                  "variational/stein.py",
                  "fused/advi_steps.py", "fused/trajectory.py", "fused/optimizers.py", "fused/families.py",
                  "fused/transforms.py", "variational/advi.py")
_DIGEST_LINE = re.compile(r'^COMPILED_SOURCES_DIGEST = "[0-9a-f]*".*$', re.MULTILINE)


def compiled_sources_digest(package_directory=None):
    """The first 16 hex digits of the SHA-256 of the COMPILED_SOURCES (their digest lines left out), in order."""
    root = Path(package_directory or Path(__file__).parent)
    files = sorted({path for pattern in COMPILED_SOURCES for path in root.glob(pattern)})
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(_DIGEST_LINE.sub("", path.read_text(encoding="utf-8")).encode())
    return digest.hexdigest()[:16]


def write_compiled_sources_digest(package_directory=None):
    """Write the current digest into every module of DIGEST_HOLDERS (after an edit of a compiled source);
    returns it. A module without the line gets it after its imports."""
    root = Path(package_directory or Path(__file__).parent)
    line = 'COMPILED_SOURCES_DIGEST = "{}"  # of the njit sources compiled into this module\'s kernels: nbvi.numba_cache'
    for holder in DIGEST_HOLDERS:  # first the line itself where it is missing (that changes the digest)
        path = root / holder
        lines = path.read_text(encoding="utf-8").split("\n")
        if not any(_DIGEST_LINE.match(text) for text in lines):
            last_import = max(i for i, text in enumerate(lines) if text.startswith(("import ", "from ")))
            end = next(i for i in range(last_import, len(lines)) if lines[i] == "")
            lines[end:end] = ["", line.format("")]
            path.write_text("\n".join(lines), encoding="utf-8")
    digest = compiled_sources_digest(root)
    for holder in DIGEST_HOLDERS:
        path = root / holder
        path.write_text(_DIGEST_LINE.sub(line.format(digest), path.read_text(encoding="utf-8")), encoding="utf-8")
    return digest
