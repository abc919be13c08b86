"""Synthetic HSG studies with ground truth: the study generators.

Imported only by the ``sample-data`` command, the first start of the GUI (bundled samples), tests and benchmarks —
never by the reading path. ``study`` / ``scene`` / ``xray`` / ... are the first generator; ``independent`` is a
second renderer written separately so the analysis can be evaluated on data it was not tuned on.
"""
