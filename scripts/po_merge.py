#!/usr/bin/env python3
"""A git merge driver for the sorted catalogues: the union of both sides' entries, parsed.

Git's own line merge (and `merge=union`) can glue two entries that both branches added next
to each other. This reads base, ours and theirs as catalogues: an entry either side added is
kept, a text only one side changed takes that side's text, an entry one side removed (and the
other left alone) goes. Register it once per clone:

    git config merge.po.driver "python3 scripts/po_merge.py %O %A %B"

(.gitattributes names the driver; without the config git falls back to its line merge).
"""

import sys

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po


def load(path: str) -> Catalog:
    with open(path, "rb") as f:
        return read_po(f)


def merge(base: Catalog, ours: Catalog, theirs: Catalog) -> Catalog:
    for message in theirs:
        if not message.id:
            continue
        mine, old = ours.get(message.id, message.context), base.get(message.id, message.context)
        if mine is None:
            if old is None or old.string != message.string:
                ours[message.id] = message  # theirs added it (or changed what we removed)
        elif old is not None and mine.string == old.string and message.string != old.string:
            mine.string = message.string  # only theirs changed the text
    for message in list(ours):
        if message.id and theirs.get(message.id, message.context) is None:
            old = base.get(message.id, message.context)
            if old is not None and old.string == message.string:
                ours.delete(message.id, message.context)  # theirs removed it; we left it alone
    return ours


def main(base_path: str, ours_path: str, theirs_path: str) -> int:
    merged = merge(load(base_path), load(ours_path), load(theirs_path))
    with open(ours_path, "wb") as f:
        write_po(f, merged, omit_header=True, sort_output=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
