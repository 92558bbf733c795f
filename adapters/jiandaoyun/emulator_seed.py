"""Demo data for the Jiandaoyun emulator: members, Chinese customers and grouped feature requests."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from adapters.jiandaoyun.emulator import JiandaoyunEmulator

MEMBERS = [
    ("zhangwei", "张伟"),
    ("wangfang", "王芳"),
    ("lina", "李娜"),
    ("liuyang", "刘洋"),
    ("chenjing", "陈静"),
    ("yanglei", "杨磊"),
    ("zhaomin", "赵敏"),
    ("huangqiang", "黄强"),
]
CITIES = ["上海", "北京", "深圳", "杭州", "广州", "成都", "南京", "苏州", "武汉", "西安"]
WORDS = ["云启", "智联", "数海", "星辰", "蓝鲸", "华信", "启明", "远航", "灵动", "恒通", "天工", "中科"]
SUFFIXES = ["科技有限公司", "信息技术有限公司", "网络科技有限公司", "软件股份有限公司"]
TIERS = ["战略", "重点", "普通"]
URGENCY = ["低", "中", "中", "高", "紧急"]
# each group: cosmetic variants of one request (全角/半角, prefixes, word order)
GROUPS: list[list[str]] = [
    [
        "支持导出 CSV 报表",
        "支持导出CSV报表",
        "需求：支持导出 CSV 报表",
        "希望支持导出ＣＳＶ报表",
        "报表支持导出 CSV",
    ],
    ["单点登录（SSO）支持", "单点登录(SSO)支持", "请支持单点登录（SSO）", "需求：SSO 单点登录支持"],
    ["移动端离线模式", "希望移动端支持离线模式", "请增加移动端离线模式", "离线模式（移动端）"],
    ["审批流程自定义", "需求：审批流程自定义", "希望审批流程可以自定义", "自定义审批流程"],
    ["数据权限按部门隔离", "请支持数据权限按部门隔离", "需求：按部门隔离数据权限"],
    ["企业微信消息通知", "希望支持企业微信消息通知", "消息通知支持企业微信"],
    ["批量导入客户数据", "需求：批量导入客户数据", "请支持批量导入客户数据"],
]
BODIES = [
    "客户多次提到这个需求，影响续约。",
    "销售跟进时客户反馈，希望下个版本能上线。",
    "客户的 IT 部门提出的要求，涉及 200+ 用户。",
    "竞品已经支持，客户在比较方案。",
]


def seed_demo(emulator: JiandaoyunEmulator, seed: int, customers: int, feedback: int) -> None:
    rng = random.Random(seed)
    s = emulator.settings
    for username, name in MEMBERS:
        emulator.add_member(username, name)
    names: set[str] = set()
    customer_ids: list[str] = []
    while len(customer_ids) < customers:
        name = f"{rng.choice(CITIES)}{rng.choice(WORDS)}{rng.choice(SUFFIXES)}"
        if name in names:
            name = f"{name[:-6]}{len(names)}{name[-6:]}"
        names.add(name)
        customer_ids.append(
            emulator.add_customer(
                name,
                rng.choice(MEMBERS)[0],
                **{
                    s.customer_tier_field: rng.choice(TIERS),
                    s.customer_arr_field: rng.randrange(5, 500) * 10_000,
                    s.customer_deal_field: rng.choice([0, 0, rng.randrange(1, 100) * 10_000]),
                },
            )
        )
    start = date(2026, 3, 1)
    for n in range(feedback):
        group = GROUPS[rng.randrange(len(GROUPS))]
        # ~1% without a customer (every 100th, so a default seed has exactly 2)
        customer = None if n % 100 == 99 or not customer_ids else rng.choice(customer_ids)
        values = {
            s.content_field: rng.choice(BODIES),
            s.urgency_field: rng.choice(URGENCY),
            s.category_field: "功能需求" if rng.random() < 0.9 else rng.choice(["缺陷", "咨询"]),
        }
        if s.promised_date_field and rng.random() < 0.2:
            promised = start + timedelta(days=rng.randrange(30, 180))
            values[s.promised_date_field] = f"{promised.isoformat()}T00:00:00.000Z"
        emulator.add_feedback(rng.choice(group), customer, **values)
