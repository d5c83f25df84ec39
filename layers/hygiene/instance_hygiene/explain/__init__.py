"""What a log says went wrong. Pure."""
