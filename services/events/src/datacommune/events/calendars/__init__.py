"""Calendars: councils' agendas read from iCalendar files and feeds (``feeds``), coming
releases and local events served as iCalendar (``export``), and their routes."""
