"""Held-out evaluation of a tuned model on the console task, in PyTorch.

Commands are decoded greedily under the grammar mask (tools/tune/constrain.py) on each
example's own machine; the predicted command is rendered on that machine and the answer is
decoded greedily after it, constrained to grounded answers (tools.task.answers.AnswerWords).
The scores are tools.task.score's. Another runtime (llama.cpp on the exported GGUF) is scored
the same way by giving ``evaluate_sessions`` its own sessions: anything with
``feed(ids) -> next logits`` and ``length``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

import torch
from tokenizers import Tokenizer

from tools import checkpoint as ckpt
from tools.progress import ProgressFn, null_progress
from tools.task.answers import AnswerWords
from tools.task.build import TaskData, TaskExample
from tools.task.completions import IndexStates, completions
from tools.task.grammar import parse_command
from tools.task.index import KnowledgeIndex
from tools.task.machines import Machine
from tools.task.render import render
from tools.task.score import ScoreRow, score
from tools.tune.chat import ChatIds, answer_prompt, chat_ids, command_prompt, fit_output
from tools.tune.constrain import TokenMask, decode_answer, decode_command, token_texts
from tools.tune.request import TaskEvalRequest, TaskEvalResult


class Feeds(Protocol):
    """One exchange's forward passes in some runtime."""

    length: int  # ids fed so far

    def feed(self, ids: list[int]) -> torch.Tensor:
        """Feed ``ids`` after the earlier ones; the logits after the last."""
        ...


class Session:
    """One exchange's forward passes with the KV cache: feed ids, get the next logits."""

    def __init__(self, model):
        self.model = model
        self.cache = None
        self.length = 0

    @torch.no_grad()
    def feed(self, ids: list[int]) -> torch.Tensor:
        out = self.model(input_ids=torch.tensor([ids]), cache=self.cache, use_cache=True)
        self.cache = out.cache
        self.length += len(ids)
        return out.logits[0, -1].float()


class Console:
    """A tuned model driving the console of simulated machines: ``model``'s PyTorch sessions, or
    those ``new_session`` makes (another runtime; ``model`` is then None)."""

    def __init__(
        self,
        model,
        tok: Tokenizer,
        index: KnowledgeIndex,
        context: int,
        new_session: Callable[[], Feeds] | None = None,
    ):
        self.tok, self.index, self.context = tok, index, context
        self.new_session: Callable[[], Feeds] = new_session or (lambda: Session(model))
        self.ids: ChatIds = chat_ids(tok)
        self.mask = TokenMask(tok, self.ids.end)
        self.texts = token_texts(tok)
        self.shared = IndexStates(index)

    def prompt(self, request: str, max_tokens: int) -> list[int]:
        """The command prompt's ids, its last ones where a command of ``max_tokens`` would not fit."""
        return command_prompt(self.tok, self.ids, request)[-(self.context - max_tokens) :]

    def command(self, session: Feeds, machine: Machine, request: str, max_tokens: int) -> str:
        prompt = self.prompt(request, max_tokens)

        def next_logits(token: int | None) -> torch.Tensor:
            return session.feed(prompt if token is None else [token])

        root = completions(machine, self.shared, request)
        return self.tok.decode(decode_command(next_logits, root, self.mask, max_tokens))

    def answer(self, session: Feeds, output: str, max_tokens: int) -> str | None:
        """The answer after the command's output (or the head of it that fits, chat.fit_output),
        at most ``max_tokens`` and no further than the context's end; None when not even the
        output's first line fits."""
        seen = fit_output(self.tok, output, self.context, session.length)
        if seen is None:
            return None
        tail = [self.ids.end, *answer_prompt(self.tok, self.ids, seen)]
        max_tokens = min(max_tokens, self.context - session.length - len(tail))

        def next_logits(token: int | None) -> torch.Tensor:
            return session.feed(tail if token is None else [token])

        out = decode_answer(next_logits, AnswerWords(seen), self.texts, self.ids.end, max_tokens)
        return self.tok.decode(out, skip_special_tokens=True).strip()


def evaluate_task(req: TaskEvalRequest, progress: ProgressFn | None = None) -> TaskEvalResult:
    step = ckpt.resolve_checkpoint(req.model)
    model = ckpt.load_model(step)
    tok = Tokenizer.from_file(str(step / ckpt.TOKENIZER))
    return evaluate_sessions(req, tok, model.config.max_position_embeddings, lambda: Session(model), progress)


def evaluate_sessions(
    req: TaskEvalRequest,
    tok: Tokenizer,
    context: int,
    new_session: Callable[[], Feeds],
    progress: ProgressFn | None = None,
) -> TaskEvalResult:
    """``evaluate_task`` over the sessions of any runtime of ``req.model`` (``tok``: its tokenizer)."""
    progress = progress or null_progress
    t0 = time.perf_counter()
    data = TaskData(req.task)
    machines = data.machines()
    examples = data.examples(req.split)[: req.limit]
    console = Console(None, tok, data.index(), context, new_session)
    rows = []
    for n, e in enumerate(examples, 1):
        rows.append(_one(console, machines[e.machine], e, req))
        progress("eval", n, len(examples))
    scores = score(rows, answers=req.answers)
    return TaskEvalResult(model=req.model, split=req.split, wall_s=time.perf_counter() - t0, **dict(scores))


def _one(console: Console, machine: Machine, e: TaskExample, req: TaskEvalRequest) -> ScoreRow:
    session = console.new_session()
    pred = console.command(session, machine, e.request, req.max_command_tokens)
    row = ScoreRow(request=e.request, reference=e.command, command=pred, facts=e.facts)
    if req.answers:
        cmd = parse_command(pred)
        assert cmd is not None, f"the constrained decoder wrote {pred!r}"  # the decoder's guarantee
        output = render(cmd, machine, console.index)
        answer = console.answer(session, output, req.max_answer_tokens)
        if answer is not None:
            row = row.model_copy(update={"output": output, "answer": answer})
    return row
