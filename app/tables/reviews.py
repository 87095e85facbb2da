"""Prevention reviews (复盘): a weak point found at a place, the measures taken and when."""

from piccolo.columns import Date, ForeignKey, Integer, Text, Timestamptz, Varchar
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
    # The case it reviews (a 110 call's number, or a work order's id) and the family of calls
    # its before/after counts beside all calls ("" for a review of all calls).
    case_type = Varchar(length=12, default="")  # call | work_order | ""
    case_ref = Varchar(length=64, default="")
    family = Varchar(length=16, default="")
