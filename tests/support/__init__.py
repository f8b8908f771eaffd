"""Shared test helpers: factories of valid events, strategies, engines, the CLI runner."""
