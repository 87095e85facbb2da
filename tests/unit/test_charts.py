"""The SVG charts: text alternative, axes with round ticks and a unit, escaped labels, one mark
per value."""

from app.domain import charts


def test_a_bar_chart_has_its_text_alternative_axes_and_a_bar_per_value():
    svg = charts.render(
        "bar",
        "Matters <per week>",
        "03-02: Received 3, Completed 2",
        ["03-02", "03-09"],
        [charts.Series("Received", [3.0, 7.0]), charts.Series("Completed", [2.0, None])],
        "matters",
        chart_id="c1",
    )
    assert '<title id="c1-t">Matters &lt;per week&gt;</title>' in svg
    assert '<desc id="c1-d">03-02: Received 3, Completed 2</desc>' in svg
    assert 'aria-labelledby="c1-t c1-d"' in svg and 'role="img"' in svg
    assert ">matters</text>" in svg and ">03-09</text>" in svg
    assert svg.count("<title>Received:") == 2 and svg.count("<title>Completed:") == 1  # no bar for None
    assert ">8</text>" in svg  # the axis rounds 7 up to 8 (ticks of 2)


def test_a_line_chart_with_a_fixed_axis():
    svg = charts.render(
        "line", "S", "d", ["2026-01", "2026-02"], [charts.Series("Satisfied", [90.0, 95.5])], "%", 100.0
    )
    assert "<polyline" in svg and svg.count("<circle") == 2 and ">100</text>" in svg and ">75</text>" in svg


def test_nice_ticks():
    assert charts.nice_top(0) == (4.0, 1.0) and charts.nice_top(3) == (4.0, 1.0)
    assert charts.nice_top(7) == (8, 2)
    assert charts.nice_top(183) == (200, 50)
