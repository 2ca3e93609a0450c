"""Variational inference: approximations, inference algorithms, Stein kernels, optimizers, callbacks."""
from nbvi.variational.approximations import Approximation, Empirical, FullRank, MeanField
from nbvi.variational.inference import ADVI, ASVGD, SVGD, FullRankADVI, Inference, LowRankADVI, fit
from nbvi.variational.laplace import LaplaceApproximation, LaplaceInference  # also fit(method="laplace")
from nbvi.variational.lowrank import LowRank
from nbvi.variational.optimizers import (
    SGD,
    AdaDelta,
    Adagrad,
    AdagradWindow,
    Adam,
    Adamax,
    AveragedAdam,
    ExponentialDecay,
    Momentum,
    NesterovMomentum,
    Optimizer,
    RMSProp,
    StepDecay,
    adadelta,
    adagrad,
    adagrad_window,
    adam,
    adamax,
    averaged_adam,
    exponential_decay,
    momentum,
    nesterov_momentum,
    rmsprop,
    sgd,
    step_decay,
)
from nbvi.variational.pathfinder import (  # also fit(method="pathfinder")
    PathfinderApproximation,
    PathfinderInference,
)

__all__ = ["ADVI", "ASVGD", "AdaDelta", "Adagrad", "AdagradWindow", "Adam", "Adamax", "Approximation", "AveragedAdam",
           "Empirical", "ExponentialDecay", "FullRank", "FullRankADVI", "Inference", "LaplaceApproximation", "LaplaceInference", "LowRank", "LowRankADVI",
           "MeanField", "Momentum", "PathfinderApproximation", "PathfinderInference",
           "NesterovMomentum", "Optimizer", "RMSProp", "SGD", "SVGD", "StepDecay", "adadelta", "adagrad",
           "adagrad_window", "adam", "adamax", "averaged_adam", "exponential_decay", "fit", "momentum", "nesterov_momentum",
           "rmsprop", "sgd", "step_decay"]
