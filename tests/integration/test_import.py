"""Bulk import of places and grids from CSV: preview, row errors, encodings, re-import."""

from app.tables import AuditEvent, Grid, Place
from tests.conftest import run

GOOD = (
    "名称,类型,地址,网格编码,纬度,经度,别名\n"
    "幸福里小区,小区,泰和路200号,TH-01,33.946,118.303,幸福里;幸福小区\n"
    "运河菜场,market,黄河南路400号,GH-02,,,\n"
)
BAD = (
    "name,kind,address,grid_code,lat,lon\n"
    ",estate,无名,TH-01,,\n"
    "远方小区,estate,远方,XX-99,,\n"
    "坐标错小区,estate,泰和路,TH-01,33.9,东经118\n"
    "北极小区,estate,泰和路,TH-01,95,118.3\n"
    "好小区,estate,泰和路1号,TH-01,33.94,118.30\n"
)


def upload(admin, entity, content: bytes, name="places.csv"):
    return admin.post(f"/admin/org/{entity}/import", files={"file": (name, content, "text/csv")})


def confirm(admin, entity, preview_text):
    return admin.post(f"/admin/org/{entity}/import", files={"text": (None, preview_text)})


def previewed_text(response) -> str:
    start = response.text.index('<textarea name="text" hidden>') + len('<textarea name="text" hidden>')
    import html

    return html.unescape(response.text[start : response.text.index("</textarea>", start)])


def test_preview_writes_nothing_then_import_creates_the_rows(admin):
    before = run(Place.count())
    preview = upload(admin, "place", GOOD.encode("utf-8"))
    assert preview.status_code == 200
    assert "幸福里小区" in preview.text and "导入 2 行" in preview.text
    assert run(Place.count()) == before

    done = confirm(admin, "place", previewed_text(preview))
    assert "已导入：新增 2 条" in done.text
    place = run(Place.select().where(Place.name == "幸福里小区").first())
    assert place["kind"] == "estate" and place["lat"] == 33.946 and place["aliases"] == "幸福里\n幸福小区"
    assert run(Place.count()) == before + 2
    assert run(AuditEvent.count().where(AuditEvent.action == "import")) == 2


def test_gbk_files_from_excel_import_the_same(admin):
    preview = upload(admin, "place", GOOD.encode("gbk"))
    assert "幸福里小区" in preview.text and "运河菜场" in preview.text
    confirm(admin, "place", previewed_text(preview))
    assert run(Place.count().where(Place.name == "运河菜场")) == 1


def test_bad_rows_are_reported_line_by_line_and_skipped(admin):
    preview = upload(admin, "place", BAD.encode("utf-8"))
    text = preview.text
    assert "错误: <strong>4</strong>" in text
    assert "名称: 必填" in text
    assert "网格: 未知的网格编码" in text
    assert "经度: 不是数字" in text
    assert "纬度: 纬度必须在 -90 到 90 之间" in text
    confirm(admin, "place", previewed_text(preview))
    assert run(Place.count().where(Place.name == "好小区")) == 1
    assert run(Place.count().where(Place.name.is_in(["远方小区", "坐标错小区", "北极小区"]))) == 0


def test_reimporting_the_same_file_creates_no_duplicates(admin):
    confirm(admin, "place", GOOD)
    count = run(Place.count())
    again = upload(admin, "place", GOOD.encode("utf-8"))
    assert "未变: <strong>2</strong>" in again.text and "没有需要导入的内容" in again.text
    changed = GOOD.replace("泰和路200号", "泰和路202号")
    preview = upload(admin, "place", changed.encode("utf-8"))
    assert "更新: <strong>1</strong>" in preview.text
    confirm(admin, "place", previewed_text(preview))
    assert run(Place.count()) == count
    assert run(Place.select(Place.address).where(Place.name == "幸福里小区").first())["address"] == "泰和路202号"


def test_a_row_repeated_in_one_file_is_flagged(admin):
    text = GOOD + "幸福里小区,小区,别处,TH-01,,,\n"
    preview = upload(admin, "place", text.encode("utf-8"))
    assert "与第 2 行重复" in preview.text


def test_files_that_are_not_csv_text_are_refused_clearly(admin):
    response = upload(admin, "place", "名称\n".encode("utf-16"))
    assert response.status_code == 422 and "不是 UTF-8 或 GBK" in response.text
    response = upload(admin, "place", "地址\n泰和路\n".encode())
    assert response.status_code == 422 and "缺少列：name, grid_code" in response.text
    response = admin.post("/admin/org/place/import", files={"text": (None, "")})
    assert response.status_code == 422 and "请先选择一个 CSV 文件" in response.text


def test_grids_import_by_code(admin):
    csv_text = "code,name,office_code\nTH-09,泰和九网格,HH-TH\nTH-01,泰和一网格(新),HH-TH\nZZ-1,孤网格,NOPE\n"
    preview = upload(admin, "grid", csv_text.encode(), name="grids.csv")
    assert "新增: <strong>1</strong>" in preview.text and "更新: <strong>1</strong>" in preview.text
    assert "未知的警务室编码" in preview.text
    confirm(admin, "grid", previewed_text(preview))
    assert run(Grid.select(Grid.name).where(Grid.code == "TH-01").first())["name"] == "泰和一网格(新)"
    assert run(Grid.count().where(Grid.code == "TH-09")) == 1


def test_a_gbk_line_among_utf8_lines_is_refused_with_its_line(admin):
    lines = GOOD.splitlines(keepends=True) + ["张三小区,小区,张三路1号,TH-01,,,\n"]
    content = b"".join(line.encode("gbk" if number == 4 else "utf-8") for number, line in enumerate(lines, 1))
    for locale, message in (("zh-CN", "第 4 行的编码与文件其他行不同"), ("en", "Line 4 is not in the same encoding")):
        preview = admin.post(
            "/admin/org/place/import",
            files={"file": ("places.csv", content, "text/csv")},
            headers={"Accept-Language": locale},
        )
        assert preview.status_code == 422 and message in preview.text
    assert run(Place.count().where(Place.name == "张三小区")) == 0
