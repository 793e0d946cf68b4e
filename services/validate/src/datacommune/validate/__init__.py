"""validate: checks each received file against its schema and reports in plain French."""
