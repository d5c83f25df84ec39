"""The `hygiene` command line (installed with the package for users, never into the layer)."""
