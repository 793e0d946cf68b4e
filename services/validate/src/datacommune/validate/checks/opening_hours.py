"""The OpenStreetMap ``opening_hours`` syntax, the part public facilities use.

Accepted: ``24/7``; rules separated by ``;`` (or ``||``), each an optional month selector
(``Jan-Mar``, ``Jul,Aug``), an optional day selector (``Mo-Fr``, ``Sa,Su``, ``PH``, ``SH``,
``Mo[1]``), then times (``08:00-12:00,14:00-18:00``, ``10:00+``) and/or ``off``/``closed``/
``open``. Enough for « Mo-Fr 08:00-12:00,14:00-18:00; Sa 09:00-12:00; PH off »; rarer forms
(week numbers, sunrise/sunset, comments) are reported rather than guessed at.
"""

import re

DAY = r"(?:Mo|Tu|We|Th|Fr|Sa|Su)(?:\[-?[1-5](?:-[1-5])?\])?"
DAYS = rf"(?:{DAY}(?:-{DAY})?|PH|SH)(?:,(?:{DAY}(?:-{DAY})?|PH|SH))*"
MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)(?: (?:0?[1-9]|[12]\d|3[01]))?"
MONTHS = rf"(?:{MONTH}(?:-{MONTH})?)(?:,(?:{MONTH}(?:-{MONTH})?))*"
TIME = r"(?:[01]\d|2[0-4]):[0-5]\d"
SPAN = rf"{TIME}(?:-{TIME}|\+)"
SPANS = rf"{SPAN}(?:,{SPAN})*"
STATE = r"(?:off|closed|open|unknown)"
RULE = re.compile(rf"^(?:{MONTHS} )?(?:{DAYS}(?: |$))?(?:{SPANS}(?: {STATE})?|{STATE})?$")


def valid(text: str) -> bool:
    """Whether ``text`` is an opening_hours value in the supported syntax."""
    text = text.strip()
    if not text:
        return False
    if text == "24/7":
        return True
    rules = [r.strip() for r in re.split(r";|\|\|", text)]
    return all(rule and RULE.match(rule) for rule in rules)
