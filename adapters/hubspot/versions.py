"""Version tokens for the echo filter: which re-read HubSpot records carry nothing new for us.

Our write-back (`tickets/batch/update` of the backlog properties) bumps `hs_lastmodifieddate`, so
every ticket we link comes back in the next incremental search. Such an echo must cost nothing more
than its share of that search page: no association read, no mapping, no state write.

Why a fingerprint of the properties we read, and not the `updatedAt` our batch update returned:
a user edit made between our read and our write is stamped *before* our write, and our write then
stamps the ticket again, so the ticket's newest stamp is ours although its content is the user's.
A stamp-based filter would drop that edit; a fingerprint of the properties we read (minus the ones we
write ourselves and the modification stamp) changes with it, whenever it happened. The filter is thus
"nothing we read has changed since we last processed this record", which is exactly when a re-read
cannot change anything we derive. Association changes do not bump a ticket's stamp in HubSpot, so a
re-read never was how we saw them (dead-letter replay reads by id, skipping nothing).

Tokens are hashed from canonical JSON (`adapters.responses.sorted_json`); before it they were hashed
from the standard library's JSON, so after that upgrade each ticket's first re-read is not skipped
(one association read per 1,000 such tickets) and stores its new token; its content hash, compared in
both formats (`syncer.records.content_unchanged`), still finds it unchanged, so nothing is written.

Cursor safety: skipped records still count for the page's cursor, which is the max `(stamp, id)` of
everything the search returned, so the keyset pager and the overlap window behave exactly as without
the filter; only the work per re-read record goes away.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from adapters.hubspot.settings import HubSpotSettings
from adapters.responses import sorted_json

STAMP = "hs_lastmodifieddate"


def settings_fingerprint(settings: HubSpotSettings) -> str:
    """Changes when the mapping of properties changes, so every token changes with it."""
    return hashlib.sha256(repr(settings).encode()).hexdigest()[:16]


def ticket_version(raw: Mapping[str, Any], written: Iterable[str], salt: str) -> str:
    """A ticket's token: its properties as read, without the ones we write and the stamp."""
    props = raw.get("properties")
    if not isinstance(props, Mapping):
        return ""
    skip = {STAMP, *written}
    kept = {k: v for k, v in props.items() if k not in skip}
    return hashlib.sha256(f"{salt}\x1f".encode() + sorted_json(kept)).hexdigest()[:40]


def stamp_version(raw: Mapping[str, Any], salt: str) -> str:
    """Companies and deals: their modification stamp (we never write to them, so no echo to handle)."""
    props = raw.get("properties")
    value = props.get(STAMP) if isinstance(props, Mapping) else None
    return f"{salt}:{value or raw.get('updatedAt') or ''}"[:64]
