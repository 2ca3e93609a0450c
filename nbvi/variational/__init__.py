"""Variational inference: approximations, inference algorithms, Stein kernels, optimizers, callbacks."""
from nbvi.variational.approximations import Approximation, Empirical, FullRank, MeanField
from nbvi.variational.inference import ADVI, ASVGD, SVGD, FullRankADVI, Inference, fit
from nbvi.variational.optimizers import (
    SGD,
    AdaDelta,
    Adagrad,
    AdagradWindow,
    Adam,
    Adamax,
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
    exponential_decay,
    momentum,
    nesterov_momentum,
    rmsprop,
    sgd,
    step_decay,
)

__all__ = ["ADVI", "ASVGD", "AdaDelta", "Adagrad", "AdagradWindow", "Adam", "Adamax", "Approximation",
           "Empirical", "ExponentialDecay", "FullRank", "FullRankADVI", "Inference", "MeanField", "Momentum",
           "NesterovMomentum", "Optimizer", "RMSProp", "SGD", "SVGD", "StepDecay", "adadelta", "adagrad",
           "adagrad_window", "adam", "adamax", "exponential_decay", "fit", "momentum", "nesterov_momentum",
           "rmsprop", "sgd", "step_decay"]
