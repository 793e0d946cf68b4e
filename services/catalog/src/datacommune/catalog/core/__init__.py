"""The catalogue itself: datasets, resources and their immutable versions, who may see them and
when (embargo, release clock), their downloads and their DCAT metadata. It imports no feature:
features hear of what changes through the hooks in ``core.hooks``."""
