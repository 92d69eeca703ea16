"""The AUTON kernel's serial console protocol, parsed (kernel/main.c is the other side).

Machine-readable lines start with ``auton: `` and carry ``key=value`` fields::

    auton: boot arch=riscv64 machine="QEMU virt, OpenSBI, S-mode" ram_start=0x80000000 ram_bytes=N image_bytes=N
    auton: model name="micro" params=N quant=Q8_0 tokenizer=gpt2 layers=N d_model=N heads=N kv_heads=N
           d_ff=N context=N vocab=N bytes=N sha256=HEX
    auton: arena bytes=N used=N peak=N kv_bytes=N
    auton: sampler max_tokens=N temperature=F top_p=F seed=N ids=0|1
    auton: ready ...
    > the prompt, echoed
    the answer text
    auton: stats prompt_tokens=N tokens=N eos=0|1 prefill_us=N decode_us=N tok_s=F arena_peak=N
    auton: ids N N N ...
    > poweroff
    auton: exit code=N

A generation error replaces the stats line with ``auton: error: message``; a fatal error prints
``auton: error: message`` and then the exit line. The kernel writes ``\\r\\n`` for every ``\\n``
(terminals want it); :func:`console_text` undoes that exactly.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

FIELD = re.compile(r'(\w+)=("[^"]*"|\S+)')
READY = re.compile(rb"auton: ready[^\n]*\n> ")
LINE_END = re.compile(rb"\n")
EXIT = re.compile(rb"auton: exit code=(-?\d+)")
# The end of one answer: its stats (or error) line, the ids line, and the next prompt.
ANSWER_END = re.compile(rb"\nauton: (stats|error:) ?([^\n]*?)\r?\n(?:auton: ids([^\n]*?)\r?\n)?> ")
FATAL = re.compile(r"^auton: error: (.*)$", re.M)


def console_text(raw: bytes) -> str:
    """Serial bytes as text: the kernel's CR LF back to LF, invalid UTF-8 replaced."""
    return raw.replace(b"\r\n", b"\n").decode("utf-8", errors="replace")


def fields(text: str, kind: str) -> dict[str, str]:
    """The key=value fields of the first ``auton: <kind> ...`` line ({} if there is none)."""
    m = re.search(rf"^auton: {kind} (.*)$", text, re.M)
    if not m:
        return {}
    return {k: v.strip('"') for k, v in FIELD.findall(m.group(1))}


class BootFacts(BaseModel):
    """The ``auton: boot`` line: what the firmware gave the kernel."""

    arch: str
    machine: str
    ram_start: int = Field(description="physical address of the RAM region holding the image")
    ram_bytes: int = Field(description="size of that region, as the DTB / multiboot map reports it")
    image_bytes: int = Field(description="kernel image in memory, model and .bss included")


class ModelFacts(BaseModel):
    """The ``auton: model`` line: the embedded GGUF as the runtime loaded it."""

    name: str
    params: int
    quant: str = Field(description="dominant weight type: F32, F16, Q8_0, Q4_0")
    tokenizer: str = Field(description="gpt2 (byte-level BPE) or llama (SentencePiece)")
    layers: int
    d_model: int
    heads: int
    kv_heads: int
    d_ff: int
    context: int
    vocab: int
    bytes: int = Field(description="size of the embedded GGUF file")
    sha256: str = Field(description="sha256 of the embedded GGUF, computed at build time")


class ArenaFacts(BaseModel):
    """The ``auton: arena`` line: the runtime's memory, carved from RAM after the image."""

    bytes: int = Field(description="arena size: RAM region end minus image end")
    used: int = Field(description="bytes the loaded model holds (fixed after load)")
    peak: int = Field(description="high-water mark, including temporary load-time buffers")
    kv_bytes: int = Field(description="KV cache share of `used`")


class SamplerFacts(BaseModel):
    """The ``auton: sampler`` line: the settings the kernel actually applied."""

    max_tokens: int
    temperature: float
    top_p: float
    seed: int
    ids: int


class Answer(BaseModel):
    """One prompt and the kernel's answer to it."""

    prompt: str
    text: str = Field(description="the generated text, byte for byte as the kernel printed it")
    token_ids: list[int] = Field(default_factory=list, description="generated token ids, in order")
    prompt_tokens: int = 0
    tokens: int = Field(0, description="generated tokens, a final end-of-generation token included")
    stopped_at_eos: bool = False
    prefill_us: int = 0
    decode_us: int = 0
    tokens_per_s: float = Field(0.0, description="decode speed: tokens - 1 forward passes over decode_us")
    arena_peak: int = 0
    error: str | None = Field(None, description="the runtime's message when generation failed")


def parse_answer(prompt: str, segment: bytes, end: re.Match[bytes]) -> Answer:
    """An answer from the bytes after the echoed prompt line up to ``end`` (an ANSWER_END match)."""
    text = segment[:-1] if segment.endswith(b"\r") else segment  # the newline the kernel adds
    kind, rest = end.group(1).decode(), console_text(end.group(2))
    if kind == "error:":
        return Answer(prompt=prompt, text=console_text(text), error=rest.strip())
    f = {k: v for k, v in FIELD.findall(rest)}
    ids = [int(t) for t in (end.group(3) or b"").split()]
    return Answer(
        prompt=prompt,
        text=console_text(text),
        token_ids=ids,
        prompt_tokens=int(f["prompt_tokens"]),
        tokens=int(f["tokens"]),
        stopped_at_eos=f["eos"] == "1",
        prefill_us=int(f["prefill_us"]),
        decode_us=int(f["decode_us"]),
        tokens_per_s=float(f["tok_s"]),
        arena_peak=int(f["arena_peak"]),
    )


def parse_banner(
    text: str,
) -> tuple[BootFacts | None, ModelFacts | None, ArenaFacts | None, SamplerFacts | None]:
    """The banner's facts; each is None when its line is missing (the boot failed before it)."""

    def build(model: type[BaseModel], kind: str) -> BaseModel | None:
        f = fields(text, kind)
        if not f:
            return None
        if "ram_start" in f:
            f["ram_start"] = str(int(f["ram_start"], 16))
        return model.model_validate(f)

    return (
        build(BootFacts, "boot"),
        build(ModelFacts, "model"),
        build(ArenaFacts, "arena"),
        build(SamplerFacts, "sampler"),
    )


def fatal_error(text: str) -> str | None:
    """The last ``auton: error:`` message of a transcript, if any."""
    found = FATAL.findall(text)
    return found[-1].strip() if found else None
