"""LLM-backed agents, the provider layer and the offline policy."""
