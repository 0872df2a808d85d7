"""Accuracy against annotated or simulated ground truth, kept apart from the product."""
