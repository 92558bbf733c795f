"""Deterministic demo data for the HubSpot emulator: owners, companies, open deals, feedback tickets.

Feature-request subjects come from a small pool so that many customers ask for the same thing; each
ticket varies its subject only in ways the title fingerprint collapses (case, punctuation, whitespace,
full/half width, order of latin words, and a few request prefixes).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from adapters.hubspot.emulator_wire import iso_ms

if TYPE_CHECKING:
    from adapters.hubspot.emulator import HubSpotEmulator

DAY_MS = 86_400_000

OWNERS = (
    ("emma.schneider", "Emma", "Schneider"),
    ("liam.oconnor", "Liam", "O'Connor"),
    ("li.na", "娜", "李"),
    ("wang.wei", "Wei", "Wang"),
    ("sofia.rossi", "Sofia", "Rossi"),
    ("kenji.sato", "Kenji", "Sato"),
    ("zhang.min", "敏", "张"),
    ("olivia.martin", "Olivia", "Martin"),
)

COMPANIES = (
    "Northwind Traders",
    "Globex Corporation",
    "Acme Logistics GmbH",
    "Initech Software",
    "Umbrella Health",
    "Stark Industrial Supply",
    "Wayne Freight & Rail",
    "Hooli Cloud Services",
    "Vandelay Imports",
    "Soylent Foods",
    "Pied Piper Data",
    "Massive Dynamic",
    "Cyberdyne Robotics",
    "Tyrell Biotech",
    "Oscorp Materials",
    "Wonka Confectionery",
    "Gringotts Payments",
    "Aperture Labs",
    "Black Mesa Energy",
    "Monarch Insurance",
    "Blue Harbor Retail",
    "Fjord Analytics AS",
    "Kestrel Aviation",
    "Lumen Fintech",
    "Maple Leaf Dental",
    "Nordlicht Energie AG",
    "Orchid Hotels",
    "Polar Cold Chain",
    "Quill Publishing",
    "Redwood Learning",
    "Sable Security",
    "Tidewater Marine",
    "Urban Nest Realty",
    "Vireo Pharma",
    "Willow Care Homes",
    "Yonder Travel",
    "Zephyr Wind Parks",
    "Atlas Manufacturing SA",
    "Beacon Telecom",
    "Cobalt Mining Ltd",
    "Delta Agritech",
    "Evergreen Credit Union",
    "Falcon Couriers",
    "Granite Builders",
    "上海云杉科技有限公司",
    "北京星河数据有限公司",
    "深圳前海微链科技有限公司",
    "杭州青禾网络科技有限公司",
    "广州南粤物流有限公司",
    "成都蜀光软件有限公司",
    "苏州恒信精密制造有限公司",
    "南京紫金医疗科技有限公司",
    "武汉光谷智能装备有限公司",
    "西安长安云计算有限公司",
    "天津滨海港务集团有限公司",
    "厦门鹭岛贸易有限公司",
)

FEATURES = (
    "Export reports to CSV",
    "Single sign-on with Okta",
    "Dark mode for the dashboard",
    "Bulk edit of contacts",
    "Two-factor authentication for admins",
    "Custom fields on invoices",
    "Webhook retries with backoff",
    "Audit log export",
    "Slack notifications for overdue tasks",
    "Offline mode in the mobile app",
    "Role based access control",
    "API usage dashboard",
    "Scheduled report emails",
    "Multi currency support",
    "Two way Salesforce sync",
    "Recurring invoices",
    "Custom domain for the customer portal",
    "Kanban board view",
    "Gantt chart for projects",
    "Data retention policies",
    "SAML login for partners",
    "Zapier integration",
    "Time tracking on tickets",
    "Email template editor",
    "Bulk import from Excel",
    "Calendar sync with Outlook",
    "Advanced search filters",
    "Granular notification settings",
    "Public reporting API",
    "Customer satisfaction surveys",
    "Sandbox environment for testing",
    "Field level permissions",
    "支持导出 CSV 报表",
    "单点登录（SSO）支持",
    "企业微信消息通知",
    "钉钉审批集成",
    "自定义数据看板",
    "批量导入客户数据",
    "多语言界面支持",
    "自定义审批流程",
)

OTHER_SUBJECTS = {
    "BILLING_ISSUE": (
        "Invoice shows the wrong amount",
        "We were charged twice this month",
        "Please update our billing address",
        "发票抬头错误",
    ),
    "GENERAL_INQUIRY": (
        "How do I add a new user?",
        "Question about data residency in the EU",
        "Where can I find the API documentation?",
        "如何修改管理员账号？",
    ),
    "PRODUCT_ISSUE": (
        "Dashboard fails to load",
        "Login page returns error 500",
        "Sync with Outlook stopped working",
        "导出报表时页面卡死",
    ),
}

REASONS = (
    "Our finance team spends hours every week doing this by hand.",
    "This is blocking the rollout to our second region.",
    "Our auditors asked for it before the renewal.",
    "Two of our competitors' tools already have this.",
    "Management wants this before we expand to more seats.",
    "It came up again in our quarterly business review.",
)
REASONS_CN = (
    "财务团队每周都要手工处理，非常耗时。",
    "这是我们续约前的硬性要求。",
    "领导希望下个季度之前能上线。",
)

EN_PREFIXES = ("", "", "", "", "Feature request: ", "FR: ", "Request: ")
CN_PREFIXES = ("", "", "需求：", "希望", "请")
PRIORITIES = (("LOW", 30), ("MEDIUM", 40), ("HIGH", 22), ("URGENT", 8))
TIERS = (
    ("enterprise", 20, 500_000, 5_000_000),
    ("mid-market", 35, 80_000, 500_000),
    ("smb", 45, 5_000, 80_000),
)
OPEN_STAGES = (
    "appointmentscheduled",
    "qualifiedtobuy",
    "presentationscheduled",
    "decisionmakerboughtin",
    "contractsent",
)
CLOSED_STAGES = ("closedwon", "closedlost")
PROMISED_SHARE = 0.2  # of feature requests, sales promised the customer a date


def _is_latin(text: str) -> bool:
    return all(ord(c) < 0x2E80 for c in text)


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else ("\u3000" if c == " " else c) for c in text)


def vary_subject(rng: random.Random, feature: str) -> str:
    """One customer's spelling of a feature: only variations the title fingerprint collapses."""
    latin = _is_latin(feature)
    text = feature
    if latin:
        words = text.split()
        if rng.random() < 0.2:
            rng.shuffle(words)
        text = " ".join(words)
        text = rng.choice((str.lower, str.upper, str.title, str.capitalize, str))(text)
    elif rng.random() < 0.5:
        text = text.replace("（", "(").replace("）", ")")
    if rng.random() < 0.3:
        text = text.replace(" ", "  ")
    prefix = rng.choice(EN_PREFIXES if latin and rng.random() < 0.85 else CN_PREFIXES)
    suffix = rng.choice(("", "", "", "!", "?", ".", "!!") if latin else ("", "", "！", "。", "?"))
    text = prefix + text + suffix
    if rng.random() < 0.08:
        text = _full_width(text)
    if rng.random() < 0.15:
        text = f"  {text} "
    return text


def _weighted(rng: random.Random, table: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


def _deal_stage(extra: random.Random, rng: random.Random) -> dict[str, str]:
    """About a quarter of deals are closed (won or lost); drawn from `extra`: the main stream is unchanged."""
    stage = rng.choice(OPEN_STAGES)
    if extra.random() < 0.25:
        return {"dealstage": extra.choice(CLOSED_STAGES), "hs_is_closed": "true"}
    return {"dealstage": stage, "hs_is_closed": "false"}


def _seed_companies(
    emu: HubSpotEmulator,
    rng: random.Random,
    extra: random.Random,
    stamps: random.Random,
    count: int,
    owners: list[str],
) -> list[str]:
    ids = []
    for n in range(count):
        base = COMPANIES[n % len(COMPANIES)]
        name = base if n < len(COMPANIES) else f"{base} {n // len(COMPANIES) + 1}"
        tier, _, low, high = rng.choices(TIERS, weights=[t[1] for t in TIERS])[0]
        company_id = emu.add_company(
            name,
            {
                "domain": f"customer-{n + 1}.example.{'cn' if not _is_latin(base) else 'com'}",
                "customer_tier": tier,
                "annualrevenue": str(rng.randrange(low, high, 1000)),
                "hubspot_owner_id": rng.choice(owners),
                **_history(emu, stamps),
                "industry": rng.choice(
                    (
                        "COMPUTER_SOFTWARE",
                        "LOGISTICS_AND_SUPPLY_CHAIN",
                        "HOSPITAL_HEALTH_CARE",
                        "FINANCIAL_SERVICES",
                        "RETAIL",
                        "MACHINERY",
                    )
                ),
            },
        )
        ids.append(company_id)
        if rng.random() < 0.5:
            for d in range(rng.randint(1, 3)):
                emu.add_deal(
                    company_id,
                    {
                        "dealname": f"{name} – expansion {d + 1}",
                        "amount": str(rng.randrange(5_000, 250_000, 500)),
                        **_deal_stage(extra, rng),
                        "pipeline": "default",
                        "closedate": iso_ms(emu.now_ms() + rng.randint(10, 120) * DAY_MS),
                        "hubspot_owner_id": rng.choice(owners),
                        **_history(emu, stamps),
                    },
                )
    return ids


def _history(emu: HubSpotEmulator, stamps: random.Random) -> dict[str, str]:
    """A portal has history: companies and deals were created, and last edited, well before a sync
    starts (drawn from their own stream, so every other seeded value stays as it was)."""
    now = emu.now_ms()
    created = now - stamps.randrange(30 * DAY_MS, 720 * DAY_MS)
    modified = stamps.randrange(created, now - DAY_MS)
    return {"createdate": iso_ms(created), "hs_lastmodifieddate": iso_ms(modified)}


def _ticket_properties(rng: random.Random, company: str) -> dict[str, str]:
    if rng.random() < 0.75:
        index = rng.randrange(len(FEATURES))
        feature = FEATURES[index]
        latin = _is_latin(feature)
        reason = rng.choice(REASONS if latin else REASONS_CN)
        quote = (
            f'"We really need this: {feature.lower()}. {reason}" — {company}'
            if latin
            else f"“我们非常需要：{feature}。{reason}” —— {company}"
        )
        props = {
            "subject": vary_subject(rng, feature),
            "content": quote,
            "hs_ticket_category": "FEATURE_REQUEST",
            "hs_pipeline": "0",
        }
        if rng.random() < 0.1:
            props["feature_request_id"] = f"FR-{index + 1:04d}"
        return props
    category = rng.choice(sorted(OTHER_SUBJECTS))
    subject = rng.choice(OTHER_SUBJECTS[category])
    return {
        "subject": subject,
        "content": f"{subject} Reported by {company}.",
        "hs_ticket_category": category,
        "hs_pipeline": "0",
    }


def seed_portal(emu: HubSpotEmulator, *, seed: int, companies: int, tickets: int) -> None:
    rng = random.Random(seed)
    # new attributes draw from their own stream so that older seeds keep producing the same portal
    extra = random.Random(f"{seed}-extra")
    owners = [emu.add_owner(f"{login}@example.com", first, last) for login, first, last in OWNERS]
    stamps = random.Random(f"{seed}-stamps")
    company_ids = _seed_companies(emu, rng, extra, stamps, companies, owners)
    names = {cid: str(emu.company(cid)["name"]) for cid in company_ids}
    # some customers are chattier than others
    weights = [rng.choice((1, 1, 2, 3, 5)) for _ in company_ids]
    now = emu.now_ms()
    today = datetime.fromtimestamp(now / 1000, UTC).date()
    bulk_stamp = now - 3 * DAY_MS - rng.randrange(DAY_MS)  # a bulk job stamped these all at once
    bulk = set(rng.sample(range(tickets), min(50, tickets)))
    for n in range(tickets):
        company = (
            rng.choices(company_ids, weights=weights)[0] if company_ids and rng.random() >= 0.01 else None
        )
        props = _ticket_properties(rng, names[company] if company else "a prospect")
        props["hs_ticket_priority"] = _weighted(rng, PRIORITIES)
        props["hs_pipeline_stage"] = rng.choice(("1", "2", "3", "4"))
        if n in bulk:
            created = bulk_stamp - rng.randrange(1, 87 * DAY_MS)
            modified = bulk_stamp
        else:
            created = now - rng.randrange(DAY_MS // 24, 90 * DAY_MS)
            modified = rng.randrange(created, now)
        props["createdate"], props["hs_lastmodifieddate"] = iso_ms(created), iso_ms(modified)
        if props["hs_ticket_category"] == "FEATURE_REQUEST" and extra.random() < PROMISED_SHARE:
            promised = today + timedelta(days=extra.randint(-10, 120))
            props["syncer_promised_date"] = promised.isoformat()
        emu.add_ticket(props, company)
