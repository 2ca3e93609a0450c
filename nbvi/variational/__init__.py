"""Variational inference: approximations, inference algorithms, Stein kernels, optimizers, callbacks."""
