"""Hyperparameter sweeps on Optuna (issue 11): being built."""
