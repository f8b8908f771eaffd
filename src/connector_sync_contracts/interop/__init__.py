"""Interoperability: CloudEvents 1.0 and the command line's input formats (FR-008).

Owns the lossless CloudEvents mapping of the envelope (``cloudevents``) and
the input formats ``validate`` and ``replay`` read (``formats``: contract
envelopes, or structured CloudEvents mapped line by line). The AsyncAPI
document lives beside the schemas it references, in ``asyncapi``.

May import: ``contract``, ``models``, ``schemas``, ``validation`` and ``io``.
"""
