"""Entry point for ``python -m connector_sync_contracts``."""

from .cli import main

main()
