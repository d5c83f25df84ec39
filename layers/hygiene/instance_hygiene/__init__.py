"""Instance hygiene: SSM maintenance-window patching, healthchecks and failure digests."""

__version__ = "0.1.0"
