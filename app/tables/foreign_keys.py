"""Piccolo's ForeignKey answers every attribute read through its own __getattribute__, which
calls dir() on the column for any name without a leading underscore (to set up a lazily
referenced table's columns on first use). Building a list page's select reads such names (its
methods: copy, get_select_string, ...) thousands of times: ~50 dir() calls a request, ~10% of
a queue page's CPU. A method or property of the class is never a referenced table's column, so
those reads and the private ones go straight to the attribute, as Piccolo's own code ends up
doing for them; anything else (a column of the referenced table) still takes Piccolo's path."""

from __future__ import annotations

import inspect
from typing import Any

from piccolo.columns import Column
from piccolo.columns.column_types import ForeignKey

_walk = ForeignKey.__getattribute__
_read = object.__getattribute__


def _class_attributes() -> frozenset[str]:
    """ForeignKey's public methods and properties; none of them is, or gives, a column."""
    names = {name for name in dir(ForeignKey) if not name.startswith("_")}
    for name in names:
        if isinstance(inspect.getattr_static(ForeignKey, name), Column):
            raise TypeError(f"ForeignKey.{name} is a column: the shortcut would skip its call chain")
    return frozenset(names)


_CLASS_ATTRIBUTES = _class_attributes()


def _getattribute(self: ForeignKey, name: str) -> Any:
    if name[0] == "_" or (name in _CLASS_ATTRIBUTES and name not in _read(self, "__dict__")):
        return _read(self, name)
    return _walk(self, name)


ForeignKey.__getattribute__ = _getattribute  # type: ignore[method-assign]
