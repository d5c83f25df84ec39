"""``python -m hygiene_cli``: the same as the ``hygiene`` console command."""

from hygiene_cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
