"""A collectivité's space as pages: sign in, upload, follow an upload and its report, the
nodes; in French with an English switch."""
