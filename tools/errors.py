"""Exceptions that the CLI maps to exit codes and one-line messages (docs/cli.md).

``InputError`` (exit 2) prints ``error: ...``; ``CheckFailed`` (exit 1) prints what failed in its
own word (``rejected: ...``, ``below threshold: ...``), so a missed gate never reads like bad input
or a crash."""

from __future__ import annotations


class AutonError(Exception):
    """Base class: the message is one line meant for the user."""

    exit_code = 2
    label = "error"


class InputError(AutonError):
    """Bad input or usage: a missing file, a corrupt artifact, an unknown option value (exit 2)."""

    exit_code = 2


class CheckFailed(AutonError):
    """A check that ran and failed: a rejected review, a missed threshold (exit 1).

    ``label`` is the word the CLI prints before the message, e.g. ``rejected`` or ``below threshold``.
    """

    exit_code = 1

    def __init__(self, message: str, label: str = "failed"):
        super().__init__(message)
        self.label = label


def validation_message(e: ValueError, default_loc: str = "input") -> str:
    """One line for a pydantic ValidationError: ``where: what`` of its first error."""
    errors = getattr(e, "errors", None)
    if not callable(errors) or not errors():
        return str(e).splitlines()[0]
    err = errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or default_loc
    return f"{where}: {err['msg']}"
