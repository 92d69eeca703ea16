"""Shared fixtures. Each stage keeps its session-scoped fixtures (micro corpus, dataset,
checkpoint, GGUF, host runtime) in tests/fixtures_<stage>.py so later stages reuse them."""

pytest_plugins = [
    "tests.fixtures_data",
    "tests.fixtures_train",
    "tests.fixtures_export",
    "tests.fixtures_kernel",
    "tests.fixtures_kb",
    "tests.fixtures_task",
]
