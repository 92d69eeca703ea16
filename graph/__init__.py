"""The LangGraph pipeline: state, wiring, checkpointer, replay, and the CLI entry point."""
