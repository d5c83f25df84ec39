"""Digests as subscribers read them. Pure."""
