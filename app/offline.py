"""Which signed-in pages may be kept on the phone for offline use.

The service worker keeps nothing marked `Cache-Control: no-store`, and every answer to a
signed-in request is marked so (middleware.PrivateCache), except these: the pages a field
worker needs offline, which the worker fetches in advance (base.html's data-offline-urls),
a place's page once opened, and the offline fallback page it keeps from install. They hold
the person's own work only: My day (their logs and follow-ups, phones masked; their open
orders; urgent notes from their grids' patrols), the three empty log forms with their grids'
places, My area and a place's facts (name, kind, address, grid), the outbox's shell, and the
map of the last 30 days (grid outlines, places and counts per grid and place: no personal data),
so that an officer without signal still sees where the hotspots are. A query
string makes it another page (a follow-up form names a person), except the parameters only
the page's script reads, which the worker leaves out of its keys.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

PRECACHED = (
    "/field",
    "/field/contacts/new",
    "/field/campaign-drops/new",
    "/field/mediations/new",
    "/area",
    "/outbox",
    "/map",
)
FALLBACK = "/offline"
PLACE_PAGE = re.compile(r"/area/places/\d+")
CLIENT_PARAMS = frozenset({"outbox", "queued", "again"})  # sw.js CLIENT_PARAMS


def kept_offline(path: str, query_string: bytes) -> bool:
    if path not in PRECACHED and path != FALLBACK and not PLACE_PAGE.fullmatch(path):
        return False
    return all(
        name in CLIENT_PARAMS for name, _value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    )
