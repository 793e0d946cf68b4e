"""What every service process does around its own work: start (logging, migrations, serve),
hold its runtime (database, bus, store, relay), run and stop background loops, keep scratch
files, and report its memory."""
