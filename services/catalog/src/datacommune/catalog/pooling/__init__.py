"""Pooled data: one consolidated dataset per territory and national schema (docs/consolidation.md)."""
