"""The digests and how they are put together. Pure."""
