"""The generated kernels of the scalar families (nbvi/distributions/elementwise.py, nbvi/fused/families.py)
are what scripts/generate_families.py writes from the declarations now, and every scalar family of the
package is declared."""
import importlib.util
import re
from pathlib import Path

import pytest

import nbvi
from nbvi.distributions.family import DECLARED

ROOT = Path(__file__).resolve().parents[2]
DIGEST_LINE = re.compile(r'^COMPILED_SOURCES_DIGEST = "[0-9a-f]*".*$', re.MULTILINE)


def _generator():
    spec = importlib.util.spec_from_file_location("generate_families", ROOT / "scripts" / "generate_families.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("relative", ["nbvi/distributions/elementwise.py", "nbvi/fused/families.py"])
def test_generated_files_are_current(relative):
    expected = _generator().generated_sources()[relative]
    actual = (ROOT / relative).read_text(encoding="utf-8")
    # the digest line is the numba cache's business (scripts/update_digest.py), not the generator's
    assert DIGEST_LINE.sub("", actual) == DIGEST_LINE.sub("", expected), (
        f"{relative} is not what scripts/generate_families.py writes: run it")


def test_every_scalar_family_class_has_a_declaration():
    """A family without an event axis or core parameters, whose term is its own (not made of other families'
    terms, as a Mixture's), is scalar: it declares its scalar function."""
    for name in dir(nbvi):
        cls = getattr(nbvi, name)
        if not (isinstance(cls, type) and issubclass(cls, nbvi.Distribution)) or cls in (nbvi.Distribution,
                                                                                      nbvi.CustomDist):
            continue
        scalar = (cls.ndim_supp == 0 and not any(cls.ndims_params)
                  and cls.logp_terms is nbvi.Distribution.logp_terms)
        assert (cls.family is not None) == scalar, name
        if scalar:
            assert DECLARED[cls.family.name] is cls.family
            assert cls.family.params == cls.params, name


def test_a_family_declared_twice_is_refused():
    from nbvi.distributions.family import ScalarFamily

    with pytest.raises(ValueError, match="declared twice"):
        ScalarFamily("normal", DECLARED["normal"].logp_grad, params=("mu", "sigma"))


def test_more_than_four_parameters_are_refused():
    from nbvi.distributions.family import ScalarFamily

    with pytest.raises(ValueError, match="at most 4 parameters"):
        ScalarFamily("five", DECLARED["normal"].logp_grad, params=("a", "b", "c", "d", "e"))
