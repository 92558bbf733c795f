"""Batch reads: objects by id (v3, 100 per call) and associations (v4, 1,000 per call).

https://developers.hubspot.com/docs/api/crm/associations (v4 batch read: up to 1,000 inputs since
Feb 2025; a 207 lists inputs without associations under `errors[]`, which is not a failure for us).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from adapters.http import HttpClient
from adapters.hubspot.search import Raw, chunks, results

BATCH_SIZE = 100  # objects batch read/update/create
ASSOCIATION_BATCH_SIZE = 1000  # v4 associations batch read, since Feb 2025
DEAL_PROPERTIES = ("amount", "dealstage", "hs_is_closed")


def read_associations(http: HttpClient, from_type: str, to_type: str, ids: Sequence[str]) -> dict[str, Raw]:
    """from id -> its v4 batch-read result (`{"from", "to": [...]}`); ids without associations are absent."""
    found: dict[str, Raw] = {}
    path = f"/crm/v4/associations/{from_type}/{to_type}/batch/read"
    for chunk in chunks(list(dict.fromkeys(ids)), ASSOCIATION_BATCH_SIZE):
        response = http.post_json(path, {"inputs": [{"id": i} for i in chunk]}, idempotent=True)
        for result in results(response, "associations batch read"):
            source = (result.get("from") or {}).get("id")
            if source is not None:
                found[str(source)] = result
    return found


def read_objects(
    http: HttpClient, object_type: str, ids: Sequence[str], properties: Sequence[str]
) -> dict[str, Raw]:
    """id -> record, 100 per batch read; unknown ids (listed in a 207's errors) are absent."""
    return dict(iter_objects(http, object_type, ids, properties))


def iter_objects(
    http: HttpClient, object_type: str, ids: Sequence[str], properties: Sequence[str]
) -> Iterator[tuple[str, Raw]]:
    """(id, record) as each batch read of 100 answers, so that a caller keeping only a digest of each
    record lets it go at once; unknown ids (listed in a 207's errors) are absent."""
    path = f"/crm/v3/objects/{object_type}/batch/read"
    for chunk in chunks(list(dict.fromkeys(ids)), BATCH_SIZE):
        body = {"properties": list(properties), "inputs": [{"id": i} for i in chunk]}
        for raw in results(http.post_json(path, body, idempotent=True), f"{object_type} batch read"):
            if raw.get("id") is not None:
                yield str(raw["id"]), raw
