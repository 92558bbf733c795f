"""Errors raised by the mapping layer."""


class MappingError(ValueError):
    """A record cannot be turned into a neutral model or a draft; it goes to the dead-letter table."""
