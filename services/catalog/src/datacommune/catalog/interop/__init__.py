"""The catalogue in the ecosystem's formats: CKAN's Action API, DCAT-AP, Atom feeds, Data
Package."""
