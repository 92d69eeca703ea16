"""The data preparation stage: sources, cleaning, dedup, QA pairs, tokenizers, splits, streams.

The entry point is :func:`tools.data.prepare.prepare`; the CLI is ``auton-slm data prepare``.
"""
