"""Shared pytest fixtures of the train stage."""
