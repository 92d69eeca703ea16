"""Shared pytest fixtures of the export stage."""
