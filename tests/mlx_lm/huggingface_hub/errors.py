"""The hub client's error classes the worker tells apart (same names as the real ones)."""


class HFValidationError(ValueError):
    pass


class RepositoryNotFoundError(Exception):
    pass


class LocalEntryNotFoundError(Exception):
    pass
