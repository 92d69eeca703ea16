"""Exceptions that the CLI maps to exit codes (DESIGN.md, CLI conventions)."""

from __future__ import annotations


class AutonError(Exception):
    """Base class: the message is one line meant for the user."""

    exit_code = 2


class InputError(AutonError):
    """Bad input or usage: a missing file, a corrupt artifact, an unknown option value (exit 2)."""

    exit_code = 2


class CheckFailed(AutonError):
    """A check that ran and failed: a rejected review, a missed threshold (exit 1)."""

    exit_code = 1
