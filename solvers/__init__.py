"""Solver configuration, the solve call, status normalisation and infeasibility diagnosis."""
