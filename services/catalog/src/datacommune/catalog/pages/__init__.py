"""Pages for people: the catalogue and its territories as server-rendered HTML."""
