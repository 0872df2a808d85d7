"""Simulated signals and rendered face videos with exact ground truth, for tests and stories.

Accuracy claims never rest on these: they come from real recorded faces (``evaluation``).
"""
