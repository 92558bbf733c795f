"""Demo data for the Salesforce emulator: owners, accounts, deals and feature-request Cases."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from adapters.salesforce.emulator import SalesforceEmulator

SUBJECTS = (
    "Export dashboards to PDF",
    "Single sign-on with Okta",
    "Bulk edit of contacts",
    "Dark mode for the web app",
    "API rate limit increase",
    "Custom fields on invoices",
    "Audit log export",
    "支持导出报表为 Excel",
    "移动端离线模式",
    "Slack notifications for approvals",
)
TIERS = ("enterprise", "mid-market", "smb")
PRIORITIES = ("Low", "Medium", "High", "High", "Medium")


def seed_org(emulator: SalesforceEmulator, seed: int, accounts: int, cases: int) -> None:
    rng = random.Random(seed)
    owners = [emulator.add_user(f"owner{n}@example.com", f"Owner {n}") for n in range(max(1, accounts // 8))]
    account_ids = []
    for n in range(accounts):
        account = emulator.add_account(
            f"Account {n:03d}",
            rng.choice(owners),
            Customer_Tier__c=rng.choice(TIERS),
            AnnualRevenue=float(rng.randrange(10, 5_000) * 1_000),
        )
        account_ids.append(account)
        for _ in range(rng.randrange(0, 3)):
            emulator.add_opportunity(account, float(rng.randrange(5, 500) * 1_000))
        if rng.random() < 0.3:
            emulator.add_opportunity(account, float(rng.randrange(5, 500) * 1_000), "Closed Won")
    for n in range(cases):
        subject = rng.choice(SUBJECTS)
        case_account: str | None = (
            None if n % 100 == 99 else rng.choice(account_ids)
        )  # ~1% without an account
        fields: dict[str, object] = {
            "Description": f"Customer asked: {subject.lower()} (request {n})",
            "Priority": rng.choice(PRIORITIES),
            "Origin": rng.choice(("Web", "Phone", "Email")),
            "Status": "New",
        }
        if rng.random() < 0.1:
            fields["Syncer_Promised_Date__c"] = (
                date(2026, 6, 1) + timedelta(days=rng.randrange(0, 120))
            ).isoformat()
        emulator.add_case(subject, case_account, **fields)
