"""Harvesting other portals (CKAN, OpenDataSoft, DCAT) into an organization's datasets."""
