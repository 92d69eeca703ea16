"""``auton-slm data prepare``: build a tokenized dataset (the dataset layout in docs/artifacts.md)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer
from rich.table import Table

from graph.cli._output import JsonFlag, Overwrite, console, emit_json
from graph.cli.task import add_task_command
from tools.progress import rich_progress
from tools.tiers import Arch


class TokenizerOpt(str, Enum):
    bpe = "bpe"
    wordpiece = "wordpiece"
    sentencepiece = "sentencepiece"


class SpmTypeOpt(str, Enum):
    unigram = "unigram"
    bpe = "bpe"


def register(app: typer.Typer) -> None:
    data_app = typer.Typer(
        help="Data preparation: corpus, cleaning, tokenizer, splits, QA pairs.", no_args_is_help=True
    )
    app.add_typer(data_app, name="data")
    add_task_command(data_app)

    @data_app.command("prepare")
    def prepare_cmd(
        arch: Arch = typer.Option(..., "--arch", help="target architecture (picks the default source mix)"),
        tokenizer: TokenizerOpt = typer.Option(..., "--tokenizer"),
        vocab_size: int = typer.Option(..., "--vocab-size", min=1),
        out: Path = typer.Option(..., "--out", help="dataset directory, e.g. SLM/datasets/processed/<name>"),
        source: list[str] = typer.Option(
            [],
            "--source",
            help="built-in source name, 'default', dir:PATH, glob:PATTERN or jsonl:PATH (repeatable; "
            "none: the arch's default mix)",
        ),
        max_bytes: int | None = typer.Option(
            None, "--max-bytes", min=0, help="cleaned-text budget in bytes (default 32 MiB; 0: no cap)"
        ),
        seed: int = typer.Option(0, "--seed", help="seed of sampling, splits and QA selection"),
        spm_type: SpmTypeOpt = typer.Option(
            SpmTypeOpt.unigram, "--spm-type", help="SentencePiece model type"
        ),
        name: str | None = typer.Option(
            None, "--name", help="dataset name (default: the --out directory name)"
        ),
        overwrite: Overwrite = False,
        as_json: JsonFlag = False,
    ) -> None:
        """Collect, clean and dedup the corpus, make QA pairs, train the tokenizer, write the splits."""
        from tools.data.prepare import PrepareRequest, prepare

        req = PrepareRequest.build(
            arch=arch,
            tokenizer=tokenizer.value,
            vocab_size=vocab_size,
            out=out,
            sources=source,
            **({} if max_bytes is None else {"max_bytes": max_bytes or None}),
            seed=seed,
            spm_type=spm_type.value,
            name=name,
            overwrite=overwrite,
        )
        with rich_progress(transient=as_json) as progress:
            result = prepare(req, progress=progress)
        if as_json:
            emit_json(result)
            return
        meta, clean = result.meta, result.clean
        table = Table(title=f"dataset {meta.name}: {meta.arch}, {meta.tokenizer_type} {meta.vocab_size}")
        for col in ("split", "documents", "tokens", "bytes", "bytes/token"):
            table.add_column(col, justify="right")
        for split, s in meta.splits.items():
            table.add_row(
                split,
                f"{s.documents:,}",
                f"{s.tokens:,}",
                f"{s.bytes:,}",
                f"{s.bytes / max(s.tokens, 1):.2f}",
            )
        console.print(table)
        sources = Table(title="sources")
        for col in ("source", "documents", "bytes", "detail"):
            sources.add_column(col)
        for s in meta.sources:
            sources.add_row(s.name, f"{s.documents:,}", f"{s.bytes:,}", s.detail)
        console.print(sources)
        console.print(
            f"read {clean.documents_read:,} documents, kept {clean.documents_kept:,}; "
            f"skipped {clean.skipped or 'none'}; rejected {clean.rejected or 'none'}; "
            f"exact duplicates {clean.exact_duplicates}, near duplicates {clean.near_duplicates}"
        )
        console.print(f"QA pairs: {meta.qa}; written to {result.path}")
