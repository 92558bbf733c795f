"""Plan and apply phase: pending feedback groups become backlog creates/updates, then write-back.

Creates follow the intent protocol: the intent (keyed by the group's deterministic marker) is
committed before the remote call and completed after it. A later run that finds an unfinished
intent looks the marker up remotely and adopts what it finds instead of creating a second item.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from adapters.errors import PermanentError
from adapters.paging import read_ahead
from mappings.feedback import Member, PriorityWeights
from mappings.models import BacklogDraft, BacklogItem, FeedbackLink
from mappings.render import RenderOptions, render_draft, render_orphan
from syncer.counts import PassCounts
from syncer.failpoints import Failpoint, no_failpoint
from syncer.ports import CrmSink, TrackerSink
from syncer.recent import RecentRecords
from syncer.records import draft_hash, from_payload, link_from_signature, link_signature, marker_for
from syncer.state import Link, StateStore, StoredFeedback, Unit

log = structlog.get_logger("syncer.apply")

CREATE_BATCH = 50  # the tracker adapter may chunk further; intents are recorded per batch
GROUP_PAGE = 200
# members loaded (and rendered) at once: groups grow with the data set (a popular request gathers
# thousands of tickets), so a page of 200 groups must not mean 200 groups' worth of payloads
MEMBER_BUDGET = 2000
WRITEBACK_PAGE = 500


@dataclass(frozen=True, slots=True)
class PlannedGroup:
    key: str
    marker: str
    draft: BacklogDraft
    draft_hash: str
    link: Link | None


def within_budget(keys: Sequence[str], sizes: Mapping[str, int], budget: int) -> list[str]:
    """The longest prefix of `keys` whose groups hold at most `budget` members (at least one group)."""
    taken: list[str] = []
    total = 0
    for key in keys:
        total += sizes.get(key, 0)
        if taken and total > budget:
            break
        taken.append(key)
    return taken


class Apply:
    def __init__(
        self,
        org: str,
        store: StateStore,
        tracker: TrackerSink,
        crm: CrmSink,
        *,
        weights: PriorityWeights,
        options: RenderOptions,
        adopt_grace: timedelta,
        clock: Callable[[], datetime],
        counts: PassCounts,
        failpoint: Failpoint = no_failpoint,
        create_batch: int = CREATE_BATCH,
        recent: RecentRecords | None = None,
    ) -> None:
        """`recent`: records this run stored, as models (their payloads need not be read back)."""
        self._org, self._store, self._tracker, self._crm = org, store, tracker, crm
        self._recent = recent if recent is not None else RecentRecords()
        self._create_batch = create_batch
        self._failpoint = failpoint
        self._weights, self._options, self._grace, self._clock = weights, options, adopt_grace, clock
        self._counts = counts

    # -- groups -------------------------------------------------------------------------------------
    def apply_groups(self) -> None:
        for keys in self._group_batches():
            with self._store.unit() as unit:
                members = unit.group_members(self._org, keys, loaded=self._recent)
                links = unit.links.get(self._org, keys)
            empty = [k for k in keys if not members[k] and k not in links]
            plans = []
            for k in keys:  # each group's stored payloads are dropped once it is rendered
                stored = members.pop(k)
                if stored or k in links:
                    plans.append(self._plan(k, stored, links.get(k)))
            self._counts.groups_planned += len(plans)
            unchanged = [
                p.key for p in plans if p.link is not None and p.link.draft_hash == p.draft_hash
            ] + self._settle_empty(empty)
            if unchanged:
                with self._store.unit() as unit:
                    unit.clear_pending(self._org, unchanged)
            self._create([p for p in plans if p.link is None])
            self._update([p for p in plans if p.link is not None and p.link.draft_hash != p.draft_hash])

    def _group_batches(self) -> Iterator[list[str]]:
        """Pending groups in key order, in batches whose members fit `MEMBER_BUDGET`. A page of
        `GROUP_PAGE` keys and their sizes is read once for all its batches: read again per batch, the
        pending rows of the org were scanned once per big group (80 times over at 100k tickets)."""
        after = ""
        while True:
            with self._store.unit() as unit:
                page = unit.pending_groups(self._org, after=after, limit=GROUP_PAGE)
                sizes = unit.group_sizes(self._org, page) if page else {}
            if not page:
                return
            while page:
                keys = within_budget(page, sizes, MEMBER_BUDGET)
                yield keys
                page = page[len(keys) :]
            after = keys[-1]

    def _settle_empty(self, keys: list[str]) -> list[str]:
        """Groups with no member and no link. If a create for one was interrupted (its item may exist
        remotely), adopt that item and mark it orphaned instead of leaving it claiming customers; while
        the tracker may not show it yet, keep the group for the next run. Returns the groups settled."""
        markers = {marker_for(self._org, k): k for k in keys}
        with self._store.unit() as unit:
            unfinished = unit.intents.pending(self._org, list(markers))
        if not unfinished:
            return keys
        found = self._tracker.find_by_markers(list(unfinished))
        orphans = [
            PlannedGroup(
                markers[m], m, draft := render_orphan(item.title, self._options), draft_hash(draft), None
            )
            for m, item in found.items()
        ]
        for plan in orphans:
            self._tracker.update_item(found[plan.marker].key, plan.draft)
        now = self._clock()
        gone = {
            m: "nothing to adopt: the group emptied before the create was confirmed"
            for m, started in unfinished.items()
            if m not in found and now - started >= self._grace
        }
        with self._store.unit() as unit:
            self._save(unit, [(p, found[p.marker]) for p in orphans])
            unit.intents.mark(self._org, {p.marker: found[p.marker].key for p in orphans})
            unit.intents.mark(self._org, gone, state="cancelled")
        self._counts.items_adopted += len(orphans)
        waiting = {markers[m] for m in unfinished if m not in found and m not in gone}
        return [k for k in keys if k not in waiting]

    def _plan(self, key: str, stored: Sequence[StoredFeedback], link: Link | None) -> PlannedGroup:
        recent = self._recent
        members: list[Member] = [recent.get(s.system, s.record_id) or from_payload(s.payload) for s in stored]
        if members:
            draft = render_draft(members, self._weights, self._options)
        else:  # the group lost its last request: say so on the item, keep it
            draft = render_orphan(link.title if link else key, self._options)
        return PlannedGroup(key, marker_for(self._org, key), draft, draft_hash(draft), link)

    def _create(self, plans: list[PlannedGroup]) -> None:
        for start in range(0, len(plans), self._create_batch):
            batch = self._adopt_or_defer(plans[start : start + self._create_batch])
            if not batch:
                continue
            with self._store.unit() as unit:
                unit.intents.record(self._org, "create_item", {p.marker: p.key for p in batch})
            self._failpoint("create.intent_recorded")
            results = self._tracker.create_items([(p.marker, p.draft) for p in batch])
            self._failpoint("create.remote_done")
            done, failed = [], {}
            for plan, result in zip(batch, results, strict=True):
                if result.item is not None:
                    done.append((plan, result.item))
                else:
                    failed[plan.marker] = (plan, result.error or "refused")
            with self._store.unit() as unit:
                self._save(unit, done)
                unit.intents.mark(self._org, {p.marker: item.key for p, item in done})
                unit.intents.mark(self._org, {m: err for m, (_, err) in failed.items()}, state="failed")
                refused = [
                    (plan.key, f"{self._tracker.system} refused the item: {error}", plan.draft.title)
                    for plan, error in failed.values()
                ]
                self._counts.dead_letters += unit.audit.dead_letters(
                    self._org, self._tracker.system, "create", refused
                )
            self._counts.items_created += len(done)
            self._failpoint("create.batch_saved")
            log.info("items.created", count=len(done), failed=len(failed))

    def _adopt_or_defer(self, batch: list[PlannedGroup]) -> list[PlannedGroup]:
        """Handle groups whose earlier create may have happened remotely (crash before we saved it)."""
        with self._store.unit() as unit:
            unfinished = unit.intents.pending(self._org, [p.marker for p in batch])
        if not unfinished:
            return batch
        found = self._tracker.find_by_markers(list(unfinished))
        adopted = [(p, found[p.marker]) for p in batch if p.marker in found]
        if adopted:
            for plan, item in adopted:  # bring the adopted item up to date with the current draft
                self._tracker.update_item(item.key, plan.draft)
            with self._store.unit() as unit:
                self._save(unit, adopted)
                unit.intents.mark(self._org, {p.marker: item.key for p, item in adopted})
            self._counts.items_adopted += len(adopted)
            log.warning("items.adopted", count=len(adopted), keys=[i.key for _, i in adopted])
        now = self._clock()
        keep: list[PlannedGroup] = []
        for plan in batch:
            if plan.marker in found:
                continue
            started = unfinished.get(plan.marker)
            if started is not None and now - started < self._grace:
                self._counts.items_deferred += 1  # the tracker's search may not show it yet: next run
                continue
            keep.append(plan)
        return keep

    def _update(self, plans: list[PlannedGroup]) -> None:
        for plan in plans:
            assert plan.link is not None
            try:
                item = self._tracker.update_item(plan.link.item_key, plan.draft)
            except PermanentError as exc:  # e.g. the item was deleted in the tracker: tell, go on
                with self._store.unit() as unit:
                    self._counts.dead_letters += unit.audit.dead_letter(
                        self._org, self._tracker.system, plan.key, "update", str(exc), plan.link.item_key
                    )
                continue
            with self._store.unit() as unit:
                self._save(unit, [(plan, item)])
            self._counts.items_updated += 1

    def _save(self, unit: Unit, done: Sequence[tuple[PlannedGroup, BacklogItem]]) -> None:
        links = [
            Link(
                group_key=p.key,
                marker=p.marker,
                tracker=self._tracker.system,
                item_key=item.key,
                item_url=item.url,
                draft_hash=p.draft_hash,
                title=p.draft.title,
                account_count=p.draft.account_count,
                total_arr=p.draft.total_arr,
                priority=p.draft.priority.value,
                open_deal_value=p.draft.open_deal_value,
                item_status=item.status.value,
                milestone_id=item.milestone_id,
                signature=link_signature(item.key, item.status.value, item.milestone, None) or "",
            )
            for p, item in done
        ]
        unit.links.save(self._org, links)
        unit.clear_pending(self._org, [p.key for p, _ in done])
        unit.audit.resolve_dead_letters(self._org, self._tracker.system, [p.key for p, _ in done])

    # -- write-back ---------------------------------------------------------------------------------
    def _due_pages(self) -> Iterator[list[tuple[StoredFeedback, Link]]]:
        """Feedback whose shown item state is stale, in record order, a page at a time."""
        after = ""
        while True:
            with self._store.unit() as unit:
                due = unit.unlinked_feedback(self._org, after=after, limit=WRITEBACK_PAGE)
            if not due:
                return
            after = due[-1][0].record_id
            yield due

    def write_back(self) -> None:
        """Show each feedback record its item's key, link, status, milestone and due date (batched);
        only records whose shown state differs from the item's are written. The next page is read
        from the store while the CRM takes the current one."""
        with closing(read_ahead(self._due_pages())) as pages:
            for due in pages:
                self._write_page(due)

    def _write_page(self, due: list[tuple[StoredFeedback, Link]]) -> None:
        # a page's records share few groups: one parsed link per group, copied for each record
        shown: dict[tuple[str, str], FeedbackLink] = {}
        links = []
        for f, link in due:
            template = shown.get((link.signature, link.item_url))
            if template is None:
                template = link_from_signature(f.record_id, link.signature, link.item_url)
                shown[(link.signature, link.item_url)] = template
            links.append(template.model_copy(update={"feedback_id": f.record_id}))
        results = self._crm.link_feedback(links)
        self._failpoint("writeback.remote_done")
        ok = {r.ref: link.signature for r, (_, link) in zip(results, due, strict=True) if r.ok}
        with self._store.unit() as unit:
            unit.set_written_keys(self._org, self._crm.system, ok)
            refused = [(r.ref, r.error or "refused", "") for r in results if not r.ok]
            self._counts.dead_letters += unit.audit.dead_letters(
                self._org, self._crm.system, "writeback", refused
            )
        self._counts.links_written += len(ok)
