"""Each function's one call, and the rules that decide what is told."""
