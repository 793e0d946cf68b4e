"""Errors events answers with beyond the shared ones (see docs/problems.md): calendars refused."""

from datacommune.shared.problems import Problem


class InvalidCalendar(Problem):
    type = "/problems/invalid-calendar"
    title = "Calendrier illisible"
    title_en = "Invalid calendar"
    status = 422


class CalendarTooLarge(Problem):
    type = "/problems/calendar-too-large"
    title = "Calendrier trop volumineux"
    title_en = "Calendar too large"
    status = 413


class FeedRefused(Problem):
    type = "/problems/feed-refused"
    title = "Adresse de calendrier refusée"
    title_en = "Calendar address refused"
    status = 422


class FeedUnreachable(Problem):
    type = "/problems/feed-unreachable"
    title = "Calendrier injoignable"
    title_en = "Calendar unreachable"
    status = 502
