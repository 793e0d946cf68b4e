"""The communes' reference (name, centre, box by INSEE code) that spatial coverage shows: loaded
by the operator from a reference of their choice, never fetched by the platform."""
