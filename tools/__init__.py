"""Deterministic stage functions of the AUTON SLM pipeline (no LLM code here)."""
