"""Declares the optional compiled accelerator; everything else is in pyproject.toml.

Without a C compiler the build goes on (``optional=True``) and the CLI uses its
pure-Python paths: the same results, more slowly (see bench/README.md).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "connector_sync_contracts._engine.native._native",
            sources=["src/connector_sync_contracts/_engine/native/_native.c"],
            optional=True,
            extra_compile_args=["-O2"],
        )
    ]
)
