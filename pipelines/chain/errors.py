"""The one error type every decoder raises on bad input."""


class DecodeError(ValueError):
    """Input that is not what its layout says: truncated, garbage, wrong discriminator, wrong shape.

    Decoders raise only this (never IndexError, struct.error, UnicodeDecodeError, ...), so callers can skip
    one bad transaction with a single except clause and keep going.
    """
