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


def test_an_80_20_curve_has_both_axes_in_percent_the_diagonal_and_its_labelled_points():
    svg = charts.curve(
        "Share of calls",
        "25% of places (1) give 60% of calls.",
        [(0.0, 0.0), (0.25, 0.6), (0.5, 0.8), (1.0, 1.0)],
        [charts.Mark(0.25, 0.6, "25% of places: 60% of calls"), charts.Mark(0.75, 0.9, "late <mark>")],
        "Places (%)",
        "Calls (%)",
        chart_id="p",
    )
    assert '<desc id="p-d">25% of places (1) give 60% of calls.</desc>' in svg
    assert svg.count(">100</text>") == 2 and svg.count(">20</text>") == 2  # ticks on both axes
    assert ">Places (%)</text>" in svg and ">Calls (%)</text>" in svg
    assert 'stroke-dasharray="4 4"' in svg  # the diagonal of equal shares
    assert 'points="40.0,198.0 133.0,94.8 226.0,60.4 412.0,26.0"' in svg
    assert 'text-anchor="start">25% of places: 60% of calls</text>' in svg
    assert 'text-anchor="end">late &lt;mark&gt;</text>' in svg  # right of the middle: its label to the left
