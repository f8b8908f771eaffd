"""The private speed paths of ``validate`` and ``replay`` (the command line's engine).

Owns the runner that reads sources block by block and keeps one compact
record per event (``runner``), the model path that decides the lines the
compiled core leaves to Python and explains every rejected line
(``modelpath``; it is the whole decoder of the pure-Python engine), and the
compiled core with its derived spec (``native``).

May import: ``contract``, ``io``, ``reducing``; the model path also
``models`` and ``validation``. Nothing outside ``cli``, ``reducing.api`` and
``_tooling`` imports this package.
"""
