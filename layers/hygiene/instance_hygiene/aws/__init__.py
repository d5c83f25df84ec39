"""Adapters: the only modules that call AWS; each takes its client."""
