"""Demo data for the Worktile emulator: members, Chinese customers and grouped feature-request tasks."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from adapters.jiandaoyun.emulator_seed import BODIES, CITIES, GROUPS, MEMBERS, SUFFIXES, WORDS

if TYPE_CHECKING:
    from adapters.worktile.emulator import WorktileEmulator

PRIORITIES = ["低", "普通", "普通", "高", "紧急"]


def seed_demo(emulator: WorktileEmulator, seed: int, customers: int, tasks: int) -> None:
    rng = random.Random(seed)
    s = emulator.settings
    for uid, name in MEMBERS:
        emulator.add_member(uid, name)
    names: list[str] = []
    while len(names) < customers:
        name = f"{rng.choice(CITIES)}{rng.choice(WORDS)}{rng.choice(SUFFIXES)}"
        if name in names:
            name = f"{name[:-6]}{len(names)}{name[-6:]}"
        names.append(name)
    owners = {name: rng.choice(MEMBERS)[0] for name in names}  # one sales owner per customer
    for n in range(tasks):
        group = GROUPS[rng.randrange(len(GROUPS))]
        customer = None if n % 100 == 99 or not names else rng.choice(names)
        kind = "功能需求" if rng.random() < 0.9 else rng.choice(["缺陷", "咨询"])
        title, description = rng.choice(group), rng.choice(BODIES)
        assignee = owners[customer] if customer else rng.choice(MEMBERS)[0]
        priority = rng.choice(PRIORITIES)
        props: dict[str, Any] = {  # drawn last, in the same order as before (stable demo data)
            s.customer_property: customer,
            s.category_property: kind if rng.random() < 0.5 else None,
        }
        emulator.add_task(
            s.project_id, title, description=description, assignee=assignee, priority=priority,
            tags=[kind], **props,
        )  # fmt: skip
