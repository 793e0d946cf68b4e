"""events: the local events (council meetings, hackathons, fairs) releases are timed to."""
