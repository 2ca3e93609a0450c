from setuptools import find_packages, setup

setup(
    name="nbvi",
    version="0.1.0",
    description="Variational inference for Bayesian models in NumPy + Numba, every gradient written by hand",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["nbvi", "nbvi.*"]),
    python_requires=">=3.10",
    install_requires=["numpy>=1.24", "numba>=0.59", "scipy>=1.10"],
    extras_require={
        "arviz": ["arviz"],  # InferenceData: return_inferencedata=True, Trace.to_inference_data(), arviz.loo
        "docs": ["sphinx>=7", "myst-parser>=2", "furo"],  # the documentation site: docs/conf.py
        "mpi": ["mpi4py", "mpich"],  # nbvi.mpi: fits over MPI ranks (the mpich wheel brings mpiexec; docs/hpc.md)
        "plots": ["matplotlib"],
        "quickstart": ["matplotlib", "scikit-learn"],  # scripts/quickstart.py: figures and the iris data
        "test": ["pytest", "hypothesis", "scikit-learn", "matplotlib", "arviz", "mpi4py", "mpich",
                 "sphinx>=7", "myst-parser>=2", "furo"],  # (CI builds the docs: tests/test_docs_build.py)
    },
)
