"""Shared pytest fixtures of the data stage."""
