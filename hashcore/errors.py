"""Named exceptions: the CLI turns them into one line, the GUI into a dialog."""


class HashLensError(Exception):
    """Base of every error HashLens raises on purpose."""


class StoreError(HashLensError):
    """The database could not be opened, migrated or written."""


class DecodeError(HashLensError):
    """A file could not be read as a photo (corrupt, truncated, too large, unknown format)."""


class ModelError(HashLensError):
    """A model file is missing, tampered with (sha256 mismatch) or of the wrong shape."""


class NotFoundError(HashLensError):
    """An image id, path, tag or model that the caller named does not exist."""


class UnreachableRootError(HashLensError):
    """A library folder cannot be read right now (unmounted disk, removed folder)."""


class Cancelled(HashLensError):
    """A long job was cancelled by its caller."""
