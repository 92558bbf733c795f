"""The backfill floor (bench/floor.py): the minimal requests of a first sync, which reads only the
companies its tickets name and their deals, over the vendor's rates; and the stricter floor that lets
each window's first requests go at once."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.floor import floor_of
from syncer.counts import PassCounts


@dataclass
class FakePortal:
    tickets: int
    named: int  # companies some ticket names; each has two deals
    others: int  # companies no ticket names, with deals too
    assoc: dict[tuple[str, str], dict[str, list[str]]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        companies = self.named + self.others
        return {"tickets": self.tickets, "companies": companies, "deals": 2 * companies, "owners": 30}

    def associated(self, from_type: str, to_type: str) -> dict[str, list[str]]:
        if (from_type, to_type) == ("tickets", "companies"):
            return {str(t): [f"c{t % self.named}"] for t in range(self.tickets)}
        companies = [f"c{n}" for n in range(self.named + self.others)]
        return {c: [f"{c}-d1", f"{c}-d2"] for c in companies}


@dataclass
class FakeWorld:
    hub: FakePortal


def test_floor_counts_only_named_companies_and_their_deals() -> None:
    world = FakeWorld(FakePortal(tickets=2_000, named=250, others=5_000))
    first = PassCounts(links_written=1_500, items_created=60)

    floor = floor_of(world, first, 1.0)  # type: ignore[arg-type]

    search = 10  # 2,000 tickets, 200 a page
    other = 2 + 3 + 1 + 1 + 5 + 15  # associations, companies, owners, deal associations, deals, write-back
    assert floor["minimal"] == search + other + 2 + 2  # Jira: versions, marker search, 2 bulk creates
    assert floor["bucket"] == "hubspot.overall"
    assert floor["floor_s"] == (search + other) / 10
    assert floor["floor_with_burst_s"] == 1.0  # searches: (10 - 5) / 5 s; the overall window: 37 < 100
