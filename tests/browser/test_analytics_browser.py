"""The analytics page in a real browser: Chart.js (served by the app itself) draws every chart
from the numbers embedded in the page, nothing is refused by the page's CSP, and the tables
beside the charts hold the same numbers."""

from __future__ import annotations

import pytest

from tests.browser.conftest import ADMIN, Lived, Pages, sign_in, watch
from tests.fakegraph import FakeGraph

pytestmark = pytest.mark.browser

# Each canvas: its chart's name, whether Chart.js made a chart of it, how many of its pixels
# are painted, and the sum of its first dataset.
_CHARTS = """() => Array.from(document.querySelectorAll('section.chart canvas')).map(canvas => {
    const chart = Chart.getChart(canvas);
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let painted = 0;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
    const first = chart ? chart.data.datasets[0].data : [];
    return {name: canvas.closest('section').id, chart: !!chart, painted: painted,
            sum: first.reduce((a, b) => a + (b || 0), 0), width: canvas.width};
})"""


async def test_the_analytics_charts_are_drawn_with_the_towns_numbers(
        pages: Pages, graph: FakeGraph, lived: Lived):
    page = await pages.open()
    problems = watch(page)
    await sign_in(pages, page, graph, ADMIN)
    await page.goto(pages.url("/app/analytics"))
    await page.wait_for_function("() => typeof Chart !== 'undefined' && "
                                 "document.querySelectorAll('section.chart canvas').length > 0")
    charts = await page.evaluate(_CHARTS)
    await pages.shot(page, "charts")

    assert problems == [], "\n".join(problems)
    assert len(charts) >= 5, charts
    for chart in charts:
        assert chart["chart"] and chart["width"] > 0 and chart["painted"] > 1000, chart
    orders_chart = next(c for c in charts if c["name"] == "orders")
    assert orders_chart["sum"] == lived.delivered

    # Without JavaScript the same numbers are in the table under each chart.
    await page.click("section#orders details summary")
    table = await page.inner_text("section#orders table")
    await pages.shot(page, "orders-table")
    assert f"{lived.delivered}" in table and "Rs" in table
