"""frictionless's type inference for a table without schema, at a fraction of its cost.

frictionless infers each column's type by reading the sample's cells with every candidate type
(integer, number, date, …) until one is confident enough. Its ``Field.read_cell`` builds the
candidate's cell reader anew for every cell: for a 100-row sample of ten columns, some 13,000
readers, a third of what validating a small file cost. ``QuickDetector`` runs the same scoring
with each candidate's reader built once, so its schema is frictionless's own
(tests/validate/test_inference.py compares the two on every corpus file and on generated
samples). The candidates and their readers are built once per process: they depend on nothing
but the list of candidate types. Whatever it does not do like frictionless, it leaves to
frictionless.
"""

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from frictionless import Detector, Field, Schema, settings
from frictionless.fields import AnyField
from frictionless.table.label_matching import deduplicate_names


class QuickDetector(Detector):
    """frictionless's ``Detector`` whose schema inference reuses each candidate's reader."""

    def detect_schema(
        self,
        fragment: list[list[Any]],
        *,
        labels: list[str] | None = None,
        schema: Schema | None = None,
        field_candidates: list[dict[str, Any]] = settings.DEFAULT_FIELD_CANDIDATES,
        **options: Any,
    ) -> Schema:
        if schema or not fragment or not labels or self._customised():
            return super().detect_schema(
                fragment,
                labels=labels,
                schema=schema,
                field_candidates=field_candidates,
                **options,
            )
        inferred = Schema(fields=[])
        names = deduplicate_names([name or f"field{i + 1}" for i, name in enumerate(labels)])
        candidates = _readers(json.dumps(field_candidates, sort_keys=True))
        fields: list[Field] = []
        for index, name in enumerate(names):
            column = [cells[index] if len(cells) > index else None for cells in fragment]
            found = self._first_confident(column, candidates)
            if found is None:
                fields.append(AnyField(name=name, schema=inferred))
            else:
                field = found.kind(name=name) if found.kind else found.field.to_copy()
                field.name = name
                field.schema = inferred
                fields.append(field)
        inferred.fields = fields
        return inferred

    def _customised(self) -> bool:
        """Options this detector leaves to frictionless (the platform sets none of them)."""
        return bool(
            self.field_type
            or self.field_names
            or self.schema_patch
            or self.field_float_numbers
            or self.field_missing_values != settings.DEFAULT_MISSING_VALUES
            or self.field_true_values != settings.DEFAULT_TRUE_VALUES
            or self.field_false_values != settings.DEFAULT_FALSE_VALUES
        )

    def _first_confident(self, column: list[Any], candidates: list["_Candidate"]) -> Any:
        """The first candidate confident enough for ``column``, scored as frictionless does:
        +1 per cell it reads, -1 per cell it refuses, out of the race below the threshold;
        missing values count for no one and lower the score to reach.

        frictionless scores every candidate cell by cell and takes the first (in the
        candidates' order) to reach its score; each candidate's score depends on its own reads
        only, so here each is scored alone, up to the cell where the best so far reached, and
        the race ends when one reaches as early as any could (a cell read by no one cannot
        come sooner). A value read once by a candidate is not read again by it."""
        confidence = self.field_confidence
        threshold = len(column) * (confidence - 1)
        missing = self.field_missing_values
        present = [source not in missing for source in column]
        # After each cell: the score to reach, and whether any candidate could have it yet.
        to_reach: list[float | None] = []
        earliest = None
        reachable, seen = len(column), 0
        for i, counted in enumerate(present):
            reachable -= not counted
            seen += counted
            to_reach.append(reachable * confidence if reachable > 0 else None)
            goal = to_reach[-1]
            if earliest is None and goal is not None and seen >= goal:
                earliest = i
        if earliest is None:
            return None  # no candidate can reach its score in this column
        best, best_at = None, len(column)
        for candidate in candidates:
            at = _reached(column, present, to_reach, threshold, candidate.read, best_at)
            if at is not None:
                best, best_at = candidate, at
                if at == earliest:
                    break
        return best


def _reached(
    column: list[Any],
    present: list[bool],
    to_reach: list[float | None],
    threshold: float,
    read: Any,
    before: int,
) -> int | None:
    """The cell (before ``before``) after which a candidate reading with ``read`` reaches its
    score, or None."""
    score = 0
    known: dict[str, bool] = {}
    for i in range(before):
        if score < threshold:
            return None
        if present[i]:
            source = column[i]
            if isinstance(source, str):
                refused = known.get(source)
                if refused is None:
                    refused = known[source] = bool(read(source)[1])
            else:
                refused = bool(read(source)[1])
            score += -1 if refused else 1
        goal = to_reach[i]
        if goal is not None and score >= goal:
            return i
    return None


@dataclass(frozen=True)
class _Candidate:
    field: Field  # never changed: a confident one is copied
    read: Any
    # The field's class, whose plain instance named so is cheaper than a copy of ``field``
    # (which writes it to a descriptor, reads it back and validates it); None where the
    # candidate has options of its own, which only a copy keeps.
    kind: type[Field] | None


@lru_cache(maxsize=4)
def _readers(candidates: str) -> list[_Candidate]:
    """Each candidate field with its cell reader, built once."""
    built = []
    for candidate in json.loads(candidates):
        field = Field.from_descriptor({**candidate, "name": "shared"})
        kind = type(field) if set(candidate) <= {"type"} else None
        built.append(_Candidate(field, field.create_cell_reader(), kind))
    return built
