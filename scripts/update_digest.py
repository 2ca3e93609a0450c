"""Write the digest of nbvi's compiled sources into the modules whose kernels compile them in.

Usage: ``python scripts/update_digest.py`` after editing a module of ``nbvi.numba_cache.COMPILED_SOURCES``
(tests/test_numba_cache.py says when). See nbvi/numba_cache.py for why.
"""
from nbvi.numba_cache import write_compiled_sources_digest

if __name__ == "__main__":
    print(write_compiled_sources_digest())
