"""A Table Schema whose descriptor frictionless validates once per process, not at each copy.

Opening a table, frictionless copies its schema twice (for the header, for the row stream), and
each copy builds the schema again from its descriptor, validating it against the Table Schema
profile: about 3 ms each time, with the schema built for the resource a third — most of what
checking a small file costs (the hub checks many a second). The descriptor of a file's schema
is the registry's, the same for every file; once frictionless has found it valid, it is valid
at the next copy. Any other descriptor (another schema, a copy changed since) is validated as
frictionless always does, and a descriptor with errors is validated each time, so that every
copy reports them as before.
"""

import json
import threading
from collections.abc import Iterator
from typing import Any

from frictionless import Error, Schema
from frictionless.metadata.context import ValidationContext

# Descriptors found valid, by their canonical JSON and the Data Package version they were
# validated under; the oldest forgotten first past this many (a registry holds a few dozen).
_REMEMBERED = 256
_valid: dict[tuple[str, Any], None] = {}
# Checks run in threads: the forgetting and the remembering are one step.
_lock = threading.Lock()


class ValidatedSchema(Schema):
    """A ``frictionless.Schema`` whose copies (the same class) skip a validation already done."""

    @classmethod
    def metadata_validate(  # type: ignore[override]
        cls, descriptor: dict[str, Any], *, context: ValidationContext | None = None
    ) -> Iterator[Error]:
        text = _canonical(descriptor)
        key = None if text is None else (text, context.datapackage_version if context else None)
        if key is not None and key in _valid:
            return
        errors = list(super().metadata_validate(descriptor, context=context))
        if not errors and key is not None:
            with _lock:
                if len(_valid) >= _REMEMBERED:
                    del _valid[next(iter(_valid))]
                _valid[key] = None
        yield from errors


def _canonical(descriptor: dict[str, Any]) -> str | None:
    """The descriptor's JSON with sorted keys, when that JSON reads back as the very same
    descriptor; else None, and it is validated each time. A tuple written as a list, a number
    key written as text or an object written by its ``str`` would make two descriptors, one
    valid and one not, look alike."""
    try:
        text = json.dumps(descriptor, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError):
        return None
    return text if json.loads(text) == descriptor else None
