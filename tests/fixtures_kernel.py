"""Shared pytest fixtures of the kernel stage."""
