"""The columnar engine: a CSV checked column by column, with frictionless's findings.

pyarrow reads the UTF-8 copy in batches, every column as text; each field's cells are judged
in bulk where a vectorised test can be sure of frictionless's verdict (a plain integer, a date
in its format, a value in the enum), and one by one with frictionless's own cell reader for the
rest, so a finding is never a guess of what frictionless would say. What the engine does not
cover is left to frictionless for the whole file, and the report says so (``engine``).
"""

from datacommune.validate.columnar.engine import Outcome, check
from datacommune.validate.columnar.order import Unsupported

__all__ = ["Outcome", "Unsupported", "check"]
