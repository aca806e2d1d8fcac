"""Sources: every input format (files, directories, globs, gzip, stdin) → RawRecord stream.

The public surface is three names; the formats live in small modules beside this one.
"""

from .inputs import expand_inputs
from .prefilter import Prefilter
from .reader import read_records

__all__ = ["Prefilter", "expand_inputs", "read_records"]
