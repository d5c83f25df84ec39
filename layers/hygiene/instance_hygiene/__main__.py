"""``python -m instance_hygiene``: the same as the ``hygiene`` console command."""

from instance_hygiene.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
