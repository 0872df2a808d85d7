"""Frames -> per-frame measures: landmarks, signals in mm, skin motion, brow texture.

``run.measure_video`` chains them. Nothing here knows about twitches, exams, triage or the
web app: those stacks build on these measures.
"""
