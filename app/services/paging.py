"""Keyset paging, one mechanism for every list. A city's tables hold millions of rows: a page is
found by its key (the last row's sort key and id), never by OFFSET (which reads and throws away
every row before it), and the matching rows are counted only up to a cap.

A list names its order (`Keyset`), hands over a factory of its filtered, scoped select and the
reader's scope, and gets back a `Page` of PAGE_SIZE rows and whether more follow."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import reduce
from operator import and_, or_
from typing import Any

from piccolo.columns import Column
from piccolo.query import Select

PAGE_SIZE = 50
COUNT_CAP = 1000  # "1,000+ found": counting a city's millions for a number nobody reads costs 100+ ms

Rows = Callable[[], Awaitable[Select]]  # a fresh select of the list's rows: filtered, in scope
Scope = Callable[[Select], Awaitable[Select]]  # narrows a select to the rows the reader may see


@dataclass(frozen=True)
class Keyset:
    """A list's order: its key columns, each ascending or not (the row's id breaks ties, in the
    last key's direction), and the query parameter naming the anchor row. Only the first key may
    be empty (NULL): those rows come last, by id."""

    keys: Sequence[tuple[Column, bool]]
    param: str = "older"

    @property
    def id(self) -> Column:
        return self.keys[0][0]._meta.table.id

    @property
    def columns(self) -> list[tuple[Column, bool]]:
        if self.keys[-1][0]._meta.name == "id":
            return list(self.keys)
        return [*self.keys, (self.id, self.keys[-1][1])]


def newest_first(key: Column) -> Keyset:
    """By `key` descending, then id descending; the next page is `?older=<last id>`."""
    return Keyset([(key, False)])


def soonest_first(key: Column) -> Keyset:
    """By `key` ascending, then id ascending (rows without a key last); `?after=<last id>`."""
    return Keyset([(key, True)], param="after")


@dataclass(frozen=True)
class Page:
    rows: list[dict]
    more: bool  # rows follow this page
    anchor: int | None  # the row this page follows (None: the first page)
    param: str

    @property
    def next(self) -> int | None:
        return self.rows[-1]["id"] if self.more else None


def narrowed(query: Select, clauses: Sequence[Any]) -> Select:
    """The select with each of a list's filter clauses."""
    for clause in clauses:
        query = query.where(clause)
    return query


async def everything(query: Select) -> Select:
    """The scope of a reader who may see every row (an administrator's lists)."""
    return query


async def count_upto(query: Select, cap: int = COUNT_CAP) -> int:
    """The rows a select of ids matches, counted up to cap + 1 (more than cap shows as "cap+")."""
    return len(await query.limit(cap + 1))


async def page(order: Keyset, rows: Rows, scope: Scope, anchor: int | None, size: int = PAGE_SIZE) -> Page:
    """One page of `rows` in `order`, after the row `anchor`. The anchor is looked up within the
    reader's scope: a row they may not see gives the first page (its key would leak otherwise)."""
    mark = await _mark(order, scope, anchor) if anchor is not None else None
    key = order.keys[0][0]
    keyless = mark is not None and mark[key._meta.name] is None
    found = [] if keyless else await _keyed(order, await rows(), mark, size + 1)
    if key._meta.null and len(found) <= size:
        found += await _without_key(order, await rows(), anchor if keyless else None, size + 1 - len(found))
    return Page(found[:size], len(found) > size, anchor if mark is not None else None, order.param)


async def _keyed(order: Keyset, query: Select, mark: dict | None, limit: int) -> list[dict]:
    if order.keys[0][0]._meta.null:
        query = query.where(order.keys[0][0].is_not_null())
    if mark is not None:
        query = query.where(_after(order, mark))
    for column, ascending in order.columns:
        query = query.order_by(column, ascending=ascending)
    return await query.limit(limit)


async def _mark(order: Keyset, scope: Scope, anchor: int) -> dict | None:
    id_ = order.id
    select = id_._meta.table.select(*(column for column, _ in order.columns)).where(id_ == anchor)
    return await (await scope(select)).first()


def _after(order: Keyset, mark: dict) -> Any:
    """Rows after the mark: (k1 > v1) OR (k1 = v1 AND k2 > v2) OR ..., with `>` read as `<` for a
    descending column; plus the redundant bound k1 >= v1 so PostgreSQL reads the index's range
    (a deep page of calls: 2.1 s by a full scan, 0.2 ms by the range)."""
    columns = order.columns
    branches = []
    for i, (column, ascending) in enumerate(columns):
        value = mark[column._meta.name]
        ties = [c == mark[c._meta.name] for c, _ in columns[:i]]
        branches.append(reduce(and_, [*ties, column > value if ascending else column < value]))
    first, ascending = columns[0]
    bound = first >= mark[first._meta.name] if ascending else first <= mark[first._meta.name]
    return bound & reduce(or_, branches)


async def _without_key(order: Keyset, query: Select, anchor: int | None, limit: int) -> list[dict]:
    """The rows whose key is empty (a closed order's deadline) follow those with one, by id."""
    id_, ascending = order.id, order.keys[0][1]
    query = query.where(order.keys[0][0].is_null())
    if anchor is not None:
        query = query.where(id_ > anchor if ascending else id_ < anchor)
    return await query.order_by(id_, ascending=ascending).limit(limit)
