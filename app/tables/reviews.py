"""Prevention reviews (复盘): a weak point found at a place, the measures taken and when."""

from piccolo.columns import Date, ForeignKey, Integer, Text, Timestamptz
from piccolo.columns.defaults.timestamptz import TimestamptzNow

from app.tables.base import Table
from app.tables.org import Place


class PreventionReview(Table):
    place = ForeignKey(references=Place, index=True)
    weak_point = Text()
    measures = Text()
    measures_on = Date()
    author = Integer(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
