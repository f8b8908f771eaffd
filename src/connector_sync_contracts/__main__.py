"""Entry point for ``python -m connector_sync_contracts``: the ``connector-sync`` command."""

from ._entry import main

main()
