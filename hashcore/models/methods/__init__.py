"""Hashing heads: functions from backbone features to binary codes.

Every head implements `HashHead` (fit, encode, save, load). `load_head` rebuilds any saved head
from its .npz file, which holds plain arrays only (no pickle), so loading a file runs no code.
Importing this package registers every method module listed below.
"""

import hashcore.models.methods.bdnn  # noqa: F401
import hashcore.models.methods.copyhash  # noqa: F401
import hashcore.models.methods.dnnh  # noqa: F401
import hashcore.models.methods.dqn  # noqa: F401
import hashcore.models.methods.dsh  # noqa: F401
import hashcore.models.methods.lsh  # noqa: F401
import hashcore.models.methods.sparsehash  # noqa: F401
import hashcore.models.methods.spectral  # noqa: F401
from hashcore.models.methods import itq  # noqa: F401  (registers the method)
from hashcore.models.methods.base import HashHead, load_head, register

__all__ = ["HashHead", "load_head", "register"]
