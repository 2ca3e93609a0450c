"""The package itself: importing nbvi compiles no numba kernel, and the public names are there."""
import subprocess
import sys

CHECK_NOTHING_COMPILED = r"""
import sys, pkgutil, importlib
import nbvi
from numba.core.registry import CPUDispatcher
for info in pkgutil.walk_packages(nbvi.__path__, "nbvi."):
    importlib.import_module(info.name)
compiled, kernels = [], 0
for name, module in list(sys.modules.items()):
    if not name.startswith("nbvi"):
        continue
    for attr, value in vars(module).items():
        if isinstance(value, CPUDispatcher):
            kernels += 1
            if value.signatures:
                compiled.append(f"{name}.{attr}")
print(f"KERNELS:{kernels}")
print("COMPILED:" + ",".join(compiled))
"""


def test_import_compiles_no_kernel():
    result = subprocess.run([sys.executable, "-c", CHECK_NOTHING_COMPILED], capture_output=True, text=True,
                            check=True)
    lines = dict(line.split(":", 1) for line in result.stdout.splitlines() if ":" in line)
    assert int(lines["KERNELS"]) > 50  # the check saw the kernels (every family has several)
    assert lines["COMPILED"] == "", f"compiled at import: {lines['COMPILED']}"


def test_public_names():
    import nbvi

    for name in ["Model", "Deterministic", "Data", "Normal", "HalfNormal", "NormalMixture", "Categorical",
                 "Dirichlet", "MvNormal", "fit", "ADVI", "FullRankADVI", "SVGD", "ASVGD", "sgd", "adam",
                 "adamax", "adagrad_window", "Trace", "clone", "floatX", "math", "callbacks"]:
        assert hasattr(nbvi, name), name
    assert nbvi.config.floatX == "float64"
    assert callable(nbvi.callbacks.CheckParametersConvergence) and callable(nbvi.callbacks.Tracker)


def test_import_stays_light():
    # scipy.stats alone costs about a second to import, scipy.special 0.15 s (half of nbvi's import): nbvi
    # imports scipy pieces only where they are used
    code = ("import sys, nbvi; print('scipy.stats' in sys.modules, 'scipy.special' in sys.modules, "
            "'matplotlib' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False", "False"]
