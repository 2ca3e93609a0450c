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
    Momentum,
    NesterovMomentum,
    Optimizer,
    RMSProp,
    adadelta,
    adagrad,
    adagrad_window,
    adam,
    adamax,
    momentum,
    nesterov_momentum,
    rmsprop,
    sgd,
)

__all__ = ["ADVI", "ASVGD", "AdaDelta", "Adagrad", "AdagradWindow", "Adam", "Adamax", "Approximation",
           "Empirical", "FullRank", "FullRankADVI", "Inference", "MeanField", "Momentum", "NesterovMomentum",
           "Optimizer", "RMSProp", "SGD", "SVGD", "adadelta", "adagrad", "adagrad_window", "adam", "adamax",
           "fit", "momentum", "nesterov_momentum", "rmsprop", "sgd"]
