"""The Table every schema class derives from: Piccolo's, with its `id` made visible to a type
checker. Piccolo adds that primary key (a Serial) to each table when the class is made, so
`Person.id` exists at run time but not in Piccolo's own annotations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from piccolo.table import Table as PiccoloTable

if TYPE_CHECKING:
    from piccolo.columns import Serial

    class Table(PiccoloTable):
        id: Serial
else:
    Table = PiccoloTable
