"""numba's cache location: nbvi works, with one warning, where numba can write neither beside its sources nor
in the user's cache directory (a read-only install with a read-only HOME)."""
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from numba.core import config

import nbvi as nbvi_module
from nbvi.numba_cache import NoCacheWarning, ensure_cache_location


@pytest.fixture
def numba_cache_dir():
    previous = config.CACHE_DIR
    yield
    config.CACHE_DIR = previous


def test_no_writable_place_gives_a_temporary_cache_and_one_warning(tmp_path, numba_cache_dir):
    blocker = tmp_path / "a_file"
    blocker.write_text("")  # a directory cannot be made below a file, whoever runs the test
    config.CACHE_DIR = ""
    with pytest.warns(NoCacheWarning, match="NUMBA_CACHE_DIR"):
        chosen = ensure_cache_location(str(blocker / "pycache"), str(blocker / "user"))
    assert chosen == config.CACHE_DIR and os.path.isdir(chosen)


def test_a_writable_place_or_a_chosen_directory_changes_nothing(tmp_path, numba_cache_dir):
    config.CACHE_DIR = ""
    assert ensure_cache_location(str(tmp_path / "pycache"), str(tmp_path / "user")) is None
    assert config.CACHE_DIR == ""
    config.CACHE_DIR = str(tmp_path)
    assert ensure_cache_location("/nonexistent/file/below", "/nonexistent/user") is None


def test_nbvi_imports_and_fits_without_a_writable_cache_place(tmp_path):
    """A copy of nbvi where no __pycache__ can be made (each is a file) and a user cache directory below a
    file: in a fresh process, import nbvi and a fit work, with one NoCacheWarning."""
    source = os.path.dirname(os.path.dirname(os.path.abspath(nbvi_module.__file__)))
    copy = tmp_path / "site"
    shutil.copytree(os.path.join(source, "nbvi"), copy / "nbvi", ignore=shutil.ignore_patterns("__pycache__"))
    for folder, _dirs, _files in os.walk(copy / "nbvi"):
        (Path(folder) / "__pycache__").write_text("")  # blocks numba's cache beside the sources
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    script = textwrap.dedent("""
        import warnings
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import nbvi
            with nbvi.Model() as model:
                nbvi.Normal("x", 0.0, 1.0)
            approx = nbvi.fit(50, model=model, progressbar=False, random_seed=1)
        names = [type(w.message).__name__ for w in caught]
        assert names.count("NoCacheWarning") == 1, names
        assert nbvi.__file__.startswith(%r), nbvi.__file__
        print("ok", len(approx.hist))
    """ % str(copy))
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(PYTHONPATH=str(copy), XDG_CACHE_HOME=str(blocker / "cache"), HOME=str(blocker / "home"))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600,
                            cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "ok 50" in result.stdout


def test_modules_compiling_other_modules_kernels_carry_the_digest_of_those_sources():
    """numba checks a cached kernel against its own file only: after an edit of the interpreter, the families
    or another njit source, the modules whose kernels compile them in must change too (the digest), or their
    cache keeps running the old code."""
    from pathlib import Path

    from nbvi import numba_cache

    digest = numba_cache.compiled_sources_digest()
    root = Path(numba_cache.__file__).parent
    for holder in numba_cache.DIGEST_HOLDERS:
        text = (root / holder).read_text(encoding="utf-8")
        assert f'COMPILED_SOURCES_DIGEST = "{digest}"' in text, (
            f"nbvi/{holder}: COMPILED_SOURCES_DIGEST is not \"{digest}\" (the njit sources of "
            f"nbvi.numba_cache.COMPILED_SOURCES changed): run `python scripts/update_digest.py`")


# modules whose njit helpers other modules call without holding the digest: small index helpers that are
# not expected to change (an edit of them needs `find nbvi -name __pycache__ | xargs rm -rf` by hand)
STABLE_HELPERS = {"nbvi.distributions.layout", "nbvi.distributions.special"}


def test_every_module_compiling_another_modules_kernel_holds_the_digest():
    """A module with kernels of its own that call an njit function of another nbvi module caches compiled
    copies of it: it must be one of DIGEST_HOLDERS, or an edit of the callee would go unnoticed."""
    import importlib
    import pkgutil
    from pathlib import Path

    from numba.core.registry import CPUDispatcher

    from nbvi.numba_cache import COMPILED_SOURCES, DIGEST_HOLDERS

    holders = {"nbvi." + holder[:-3].replace("/", ".") for holder in DIGEST_HOLDERS}
    root = Path(nbvi_module.__file__).parent
    sources = {"nbvi." + path.relative_to(root).as_posix()[:-3].replace("/", ".")
               for pattern in COMPILED_SOURCES for path in root.glob(pattern)}
    missing, unsummed = {}, set()
    for info in pkgutil.walk_packages(nbvi_module.__path__, "nbvi."):
        module = importlib.import_module(info.name)
        kernels = [v for v in vars(module).values() if isinstance(v, CPUDispatcher)]
        own = [k for k in kernels if k.py_func.__module__ == info.name]
        foreign = sorted({k.py_func.__module__ for k in kernels} - {info.name} - STABLE_HELPERS)
        if own and foreign and info.name not in holders:
            missing[info.name] = foreign
        if own and foreign:
            unsummed.update(set(foreign) - sources)
    assert not missing, f"add these modules to nbvi.numba_cache.DIGEST_HOLDERS (module: callees): {missing}"
    assert not unsummed, f"add these callees to nbvi.numba_cache.COMPILED_SOURCES (the digest): {sorted(unsummed)}"
