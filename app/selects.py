"""A list's columns, compiled once. Piccolo compiles a select's column list and its joins at
every run: for a report with its seven joined names that is ~0.4 ms, most of what building the
queue's query costs, though the text never changes. `Columns` keeps that text per database
kind; its selects compile only their filters, order and limit, as Piccolo would.

    REPORTS = Columns(Report, *Report.all_columns(), Report.grid.name.as_alias("grid_name"))
    rows = await REPORTS.select().where(Report.status == "new").order_by(Report.id).limit(50)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from piccolo.columns import Column
from piccolo.query import Select
from piccolo.querystring import QueryString
from piccolo.table import Table


class Columns:
    """Fixed columns of one table (foreign-key chains and aliases included)."""

    def __init__(self, table: type[Table], *columns: Column) -> None:
        self.table, self.columns = table, columns
        self._heads: dict[str, tuple[str, frozenset[str]]] = {}

    def select(self) -> Select:
        return _FixedSelect(self)

    def head(self, engine_type: str) -> tuple[str, frozenset[str]]:
        """`SELECT <columns> FROM <table> <joins>` and its joins, compiled on first use."""
        if engine_type not in self._heads:
            plain = Select(table=self.table, columns_list=list(self.columns))
            sql, args = plain.default_querystrings[0].compile_string(engine_type=engine_type)
            if args:
                raise ValueError("fixed columns take no values")
            self._heads[engine_type] = (sql, frozenset(plain._get_joins(self.columns)))
        return self._heads[engine_type]


class _FixedSelect(Select):
    """A Select over `Columns`: where, order_by, limit and offset (and first) as Piccolo's; its
    other clauses are refused rather than silently left out."""

    __slots__ = ("fixed",)

    def __init__(self, fixed: Columns) -> None:
        super().__init__(table=fixed.table, columns_list=list(fixed.columns))
        self.fixed = fixed

    @property
    def default_querystrings(self) -> Sequence[QueryString]:
        self._refuse_the_rest()
        head, head_joins = self.fixed.head(self.table._meta.db.engine_type)
        joins = self._get_joins(
            [*self.where_delegate.get_where_columns(), *self.order_by_delegate.get_order_by_columns()]
        )
        # A filter through a chain the columns do not join adds its join (template braces doubled).
        query = head.replace("{", "{{").replace("}", "}}") + "".join(f" {j}" for j in joins if j not in head_joins)
        args: list[Any] = []
        if self.where_delegate._where:
            query += " WHERE {}"
            args.append(self.where_delegate._where.querystring)
        for clause in (
            self.order_by_delegate._order_by if self.order_by_delegate._order_by.order_by_items else None,
            self.limit_delegate._limit,
            self.offset_delegate._offset,
        ):
            if clause:
                query += "{}"
                args.append(clause.querystring)
        return [QueryString(query, *args)]

    def _refuse_the_rest(self) -> None:
        selected = self.columns_delegate.selected_columns
        if (
            self.distinct_delegate._distinct.enabled
            or self.group_by_delegate._group_by
            or self.having_delegate._where
            or self.as_of_delegate._as_of
            or self.lock_rows_delegate._lock_rows
            or len(selected) != len(self.fixed.columns)
            or any(a is not b for a, b in zip(selected, self.fixed.columns))
        ):
            raise ValueError("a select over fixed columns takes where, order_by, limit and offset only")
