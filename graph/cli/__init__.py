"""The ``auton-slm`` command line: one Typer sub-app or command group per stage.

Each module in this package that defines ``register(app: typer.Typer)`` adds its commands.
Conventions (docs/cli.md): ``--json`` prints one JSON document on stdout; exit 0 on success,
1 for a check that ran and failed (``rejected: ...``, ``below threshold: ...``), 2 for bad input
(``error: ...``); each is one line on stderr, an unexpected exception too (``internal error: ...``,
exit 1), and ``--debug`` (or AUTON_DEBUG=1) shows the traceback instead.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys

import typer

from tools.errors import AutonError

app = typer.Typer(
    name="auton-slm",
    help="Train small language models and ship them inside the AUTON kernel.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks instead of one-line errors."),
) -> None:
    if debug:
        os.environ["AUTON_DEBUG"] = "1"


def _register_all() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_register_all()


def main() -> None:
    debug = "--debug" in sys.argv or os.environ.get("AUTON_DEBUG") == "1"
    try:
        code = app(standalone_mode=False)
    except AutonError as e:
        if debug:
            raise
        print(f"{e.label}: {e}", file=sys.stderr)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as e:  # click usage errors and anything unexpected: still one line
        import click

        if isinstance(e, click.exceptions.Exit):
            sys.exit(e.exit_code)
        # typer >= 0.2x vendors click: its usage errors are TyperExceptions with show()
        if isinstance(e, click.ClickException) or (
            isinstance(e, typer.TyperException) and hasattr(e, "show")
        ):
            if debug:
                raise
            print(f"error: {e.format_message()}".splitlines()[0], file=sys.stderr)
            sys.exit(2)
        if isinstance(e, click.exceptions.Abort | typer.Abort):
            print("aborted", file=sys.stderr)
            sys.exit(130)
        if debug:
            raise
        print(
            f"internal error: {e.__class__.__name__}: {e}".splitlines()[0] + " (run with --debug for the traceback)",
            file=sys.stderr,
        )
        sys.exit(1)
    if isinstance(code, int) and code:  # without standalone mode, typer.Exit(n) is returned, not raised
        sys.exit(code)
