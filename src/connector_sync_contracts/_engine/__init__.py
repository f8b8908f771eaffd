"""The private speed paths of ``validate`` and ``replay`` (the command line's engine).

Owns the runner that reads sources block by block and keeps one compact
record per event (``runner``), the model path that decides and explains the
lines the compiled screen leaves to Python (``modelpath``), the ``msgspec``
screen of the pure-Python engine (``screen``), and the optional compiled
accelerator with its derived spec (``native``).

May import: ``contract``, ``io``, ``reducing``; the model path also
``models`` and ``validation``. Nothing outside ``cli``, ``reducing.api`` and
``_tooling`` imports this package.
"""
