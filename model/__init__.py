"""Formulations: taakstelling rules and the Pyomo optimisation models."""
