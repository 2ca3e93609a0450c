"""What the tests of tests/mpi share: run a script's work in this process (the 1-rank result), then the same
script under ``mpiexec -n 2`` (each rank writes OUT/rank<r>.npz), skipped, saying why, where MPI is missing."""
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nbvi
from nbvi import mpi

HERE = Path(__file__).resolve().parent
RANKS = 2


def mpiexec():
    """mpiexec beside this Python (the mpich wheel puts it in the environment's bin), else on PATH."""
    beside = Path(sys.executable).parent / "mpiexec"
    if beside.exists():
        return str(beside)
    return shutil.which("mpiexec")


def load(name):
    """The module tests/mpi/<name>.py (the suite runs with --import-mode=importlib)."""
    spec = importlib.util.spec_from_file_location(f"nbvi_mpi_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def require_mpi(what):
    """mpiexec, or skip the calling test, saying why (``what`` goes untested): mpi4py or mpiexec missing, or
    pytest itself running under mpiexec."""
    if importlib.util.find_spec("mpi4py") is None:
        pytest.skip(f"mpi4py is not installed (pip install \"nbvi[mpi]\"): {what} not tested")
    if mpi.is_distributed():
        pytest.skip("run pytest without mpiexec: this test starts its own ranks and compares them with one")
    launcher = mpiexec()
    if launcher is None:
        pytest.skip(f"no mpiexec beside this Python or on PATH (pip install mpich): {what} not tested")
    return launcher


def launch(launcher, script, out, timeout=600):
    """Run tests/mpi/``script``.py on RANKS ranks writing into ``out``: ([each rank's results], the ranks'
    stderr). The ranks import the nbvi this process imported, with one numba thread each (results do not
    depend on it)."""
    env = {k: v for k, v in os.environ.items() if k != "NBVI_MPI"}
    root = str(Path(nbvi.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([root, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["NUMBA_NUM_THREADS"] = "1"
    done = subprocess.run([launcher, "-n", str(RANKS), sys.executable, str(HERE / f"{script}.py"), str(out)],
                          env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"mpiexec failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return [dict(np.load(Path(out) / f"rank{r}.npz")) for r in range(RANKS)], done.stderr


class FakeComm:
    """A stand-in communicator for checks that need no MPI: rank 0 of two, the other rank's allgathered object
    being ``other(mine)``."""

    def __init__(self, other):
        self.other = other

    def Get_rank(self):
        return 0

    def Get_size(self):
        return 2

    def allgather(self, mine):
        return [mine, self.other(mine)]
