"""The demo district: 黄河派出所 with two offices, eight grids, real-sounding places,
the agencies that receive transferred matters, and one demo person per role.
Loading twice changes nothing: the bureau's code marks the district as present."""

from __future__ import annotations

import json

from app.db import write_transaction
from app.services import audit
from app.services.org import insert
from app.services.report_lists import ensure_categories
from app.services.routing import ensure_holidays
from app.tables import (
    Agency,
    Bureau,
    Grid,
    Office,
    Person,
    PersonRole,
    Place,
    ReportCategory,
    RoutingRule,
    RoutingRuleChange,
    Station,
)

BUREAU_CODE = "SQJK"

OFFICES = [
    ("HH-TH", "泰和警网融合工作站", "经开区泰和路18号"),
    ("HH-GHH", "古黄河警务室", "经开区黄河南路66号"),
]
# grid code, grid name, office code, centre (lat, lon)
GRIDS = [
    ("TH-01", "泰和一网格", "HH-TH", (33.9452, 118.3021)),
    ("TH-02", "泰和二网格", "HH-TH", (33.9431, 118.3068)),
    ("TH-03", "紫薇网格", "HH-TH", (33.9405, 118.3010)),
    ("TH-04", "祥府网格", "HH-TH", (33.9478, 118.3095)),
    ("GH-01", "虞姬网格", "HH-GHH", (33.9560, 118.2905)),
    ("GH-02", "黄河南网格", "HH-GHH", (33.9522, 118.2951)),
    ("GH-03", "马赛网格", "HH-GHH", (33.9497, 118.2880)),
    ("GH-04", "古城网格", "HH-GHH", (33.9589, 118.2962)),
]
# place name, kind, grid code, address, aliases
PLACES = [
    ("世纪紫薇园", "estate", "TH-03", "泰和路88号", "紫薇园"),
    ("泰和祥府", "estate", "TH-04", "泰和路120号", "祥府"),
    ("马赛公馆", "estate", "GH-03", "黄河南路201号", "马赛"),
    ("虞姬公园", "park", "GH-01", "古黄河风光带虞姬路", "虞姬园"),
    ("泰和花园", "estate", "TH-01", "泰和路36号", ""),
    ("金鹰天地", "market", "TH-02", "发展大道9号", "金鹰"),
    ("泰和路", "street", "TH-01", "泰和路", ""),
    ("发展大道", "street", "TH-02", "发展大道", ""),
    ("黄河南路", "street", "GH-02", "黄河南路", ""),
    ("古城路", "street", "GH-04", "古城路", ""),
    ("紫薇菜市场", "market", "TH-03", "泰和路90号", "紫薇农贸市场"),
    ("经开区实验小学", "school", "TH-02", "发展大道21号", "实验小学"),
    ("经开区社区卫生服务中心", "hospital", "TH-01", "泰和路50号", "社区医院"),
    ("泰和便利店", "shop", "TH-01", "泰和路40号", ""),
    ("紫薇药房", "shop", "TH-03", "泰和路92号", ""),
    ("祥府商业街", "street", "TH-04", "泰和路122号", ""),
    ("锦绣华庭", "estate", "TH-02", "发展大道45号", ""),
    ("阳光新城", "estate", "TH-04", "通湖大道160号", ""),
    ("通湖大道", "street", "TH-04", "通湖大道", ""),
    ("蓝天电子厂", "company", "TH-02", "发展大道101号", "蓝天电子"),
    ("黄河人家", "estate", "GH-02", "黄河南路150号", ""),
    ("古黄河风光带", "park", "GH-01", "古黄河沿岸", "风光带"),
    ("项王故里步行街", "street", "GH-04", "古城路12号", "步行街"),
    ("古城小区", "estate", "GH-04", "古城路30号", ""),
    ("马赛商业广场", "market", "GH-03", "黄河南路205号", ""),
    ("马赛幼儿园", "school", "GH-03", "黄河南路210号", ""),
    ("虞姬茶馆", "shop", "GH-01", "虞姬路8号", ""),
    ("黄河南路加油站", "company", "GH-02", "黄河南路300号", "加油站"),
    ("滨河丽景", "estate", "GH-01", "虞姬路60号", ""),
    ("古城烧烤城", "shop", "GH-04", "古城路58号", "烧烤一条街"),
    ("泰和电动车充电站", "other", "TH-01", "泰和路38号", "充电桩"),
    ("紫薇园东门停车场", "other", "TH-03", "泰和路86号", "紫薇园东门"),
    ("金鹰超市", "shop", "TH-02", "发展大道9号负一层", ""),
    ("黄河南路农贸市场", "market", "GH-02", "黄河南路160号", ""),
]
AGENCIES = [
    ("CG", "经开区城市管理局", "urban_management", "城管值班室", "0527-84300001"),
    ("ZJ", "经开区住房和城乡建设局", "housing", "住建办公室", "0527-84300002"),
    ("MZ", "经开区民政局", "civil_affairs", "民政服务窗口", "0527-84300003"),
    ("WJ", "经开区卫生健康局", "health", "卫健值班室", "0527-84300004"),
    ("GD", "宿迁供电公司经开区供电所", "power_supply", "供电服务热线", "0527-84300005"),
    ("WY", "紫薇物业服务中心", "property_management", "物业客服", "0527-84300006"),
]
# The demo district's 分流转办清单: (kind, category, unit (kind, code), agency code, accept, finish),
# each deadline as (amount, hours | workdays). Call categories are the call system's own words.
RULES = [
    ("report", "environment", ("station", "HH"), "CG", (1, "workdays"), (3, "workdays")),
    ("report", "facility", ("station", "HH"), "ZJ", (1, "workdays"), (5, "workdays")),
    ("report", "power_cut", ("station", "HH"), "GD", (2, "hours"), (24, "hours")),
    ("report", "property", ("station", "HH"), "WY", (1, "workdays"), (5, "workdays")),
    ("call", "占道经营", ("station", "HH"), "CG", (1, "workdays"), (3, "workdays")),
    ("call", "路灯损坏", ("station", "HH"), "CG", (1, "workdays"), (5, "workdays")),
    ("call", "商铺噪音", ("station", "HH"), "CG", (1, "workdays"), (3, "workdays")),
    ("call", "停电", ("station", "HH"), "GD", (2, "hours"), (24, "hours")),
]
# Report categories the rules need beyond the defaults (code, 中文, English, hints).
EXTRA_CATEGORIES = [
    ("power_cut", "停电断电", "Power cut", "小区、楼栋或路段停电", "No power in an estate, building or street"),
    (
        "property",
        "物业服务",
        "Property management",
        "电梯、门禁、楼道保洁等物业问题",
        "Lifts, entrance doors, stairwell cleaning and other property matters",
    ),
]
# name, phone, role, unit (kind, code)
PEOPLE = [
    ("邵韦杰", "13805270001", "officer", ("office", "HH-TH")),
    ("胡飞", "13805270002", "officer", ("office", "HH-GHH")),
    ("王艳荣", "13805270003", "grid_worker", ("grid", "TH-04")),
    ("李明", "13805270004", "volunteer", ("grid", "TH-03")),
    ("张伟", "13805270005", "agency_staff", ("agency", "CG")),
    ("薛峰", "13805270006", "analyst", ("station", "HH")),
    ("石子玉", "13805270007", "supervisor", ("station", "HH")),
    ("管理员", "13805270008", "admin", ("station", "HH")),
]


def _square(centre: tuple[float, float]) -> str:
    """A demo grid's boundary: a box about its centre (about 470 m by 430 m; the boxes do not
    overlap), so the map has outlines to draw. GeoJSON order: [longitude, latitude]."""
    lat, lon = centre
    south, north, west, east = lat - 0.0021, lat + 0.0021, lon - 0.0023, lon + 0.0023
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return json.dumps({"type": "Polygon", "coordinates": [[[round(x, 6), round(y, 6)] for x, y in ring]]})


async def load_demo() -> bool:
    """Load the district unless it is there. Returns True when it was loaded now."""
    await ensure_categories()  # the defaults first: they are only written into an empty list
    await ensure_holidays()
    async with write_transaction(Bureau._meta.db):
        if await Bureau.exists().where(Bureau.code == BUREAU_CODE):
            return False
        bureau = await _add(Bureau, name="宿迁市公安局经济技术开发区分局", code=BUREAU_CODE)
        station = await _add(
            Station, bureau=bureau, name="黄河派出所", code="HH", address="经开区黄河南路1号", phone="0527-84310110"
        )
        units: dict[tuple[str, str], int] = {("station", "HH"): station}
        for code, name, address in OFFICES:
            units[("office", code)] = await _add(Office, station=station, name=name, code=code, address=address)
        centres = {}
        for code, name, office, centre in GRIDS:
            units[("grid", code)] = await _add(
                Grid, office=units[("office", office)], name=name, code=code, boundary=_square(centre)
            )
            centres[code] = centre
        for index, (name, kind, grid, address, aliases) in enumerate(PLACES):
            lat, lon = centres[grid]
            await _add(
                Place,
                grid=units[("grid", grid)],
                name=name,
                kind=kind,
                address=address,
                lat=round(lat + (index % 5 - 2) * 0.0009, 6),
                lon=round(lon + (index % 3 - 1) * 0.0011, 6),
                aliases=aliases,
            )
        for code, name, kind, contact, phone in AGENCIES:
            units[("agency", code)] = await _add(Agency, name=name, code=code, kind=kind, contact=contact, phone=phone)
        for name, phone, role, (unit_kind, unit_code) in PEOPLE:
            person = await _add(Person, name=name, phone=phone)
            await _add(PersonRole, person=person, role=role, **{unit_kind: units[(unit_kind, unit_code)]})
        await _add_rules(units)
        await audit.record(audit.SYSTEM, "load_demo", "bureau", bureau)
    return True


async def _add_rules(units: dict[tuple[str, str], int]) -> None:
    known = {r["code"] for r in await ReportCategory.select(ReportCategory.code)}
    for position, (code, zh, en, hint_zh, hint_en) in enumerate(EXTRA_CATEGORIES, start=50):
        if code not in known:
            await _add(
                ReportCategory, code=code, name_zh=zh, name_en=en, hint_zh=hint_zh, hint_en=hint_en, position=position
            )
    for kind, category, (unit_kind, unit_code), agency, accept, finish in RULES:
        unit = units[(unit_kind, unit_code)]
        rule = await _add(
            RoutingRule,
            kind=kind,
            category=category,
            station=units[("station", "HH")],
            office=unit if unit_kind == "office" else None,
            grid=unit if unit_kind == "grid" else None,
            agency=units[("agency", agency)],
            accept_amount=accept[0],
            accept_unit=accept[1],
            finish_amount=finish[0],
            finish_unit=finish[1],
        )
        await _add(RoutingRuleChange, rule=rule, action="create", changes="{}")


async def _add(table, **values) -> int:
    return await insert(table, values)
