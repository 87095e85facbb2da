#!/usr/bin/env python3
"""Extract every _() / N_() message and update the zh_CN and en catalogues.

English msgids are the source text, so missing English strings are filled with the
msgid; Chinese ones are listed for a translator. tests/unit/test_i18n.py fails while
any message lacks either translation.
Usage: python scripts/i18n.py
"""

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
POT = ROOT / "app/i18n/messages.pot"


def run(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", *args],
        cwd=ROOT,
        check=True,
        stderr=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )


def main() -> None:
    run(
        "extract",
        "-F",
        "babel.cfg",
        "-k",
        "N_",
        "-k",
        "_",
        "--no-location",
        "--sort-output",
        "--omit-header",
        "-o",
        str(POT),
        ".",
    )
    run("update", "-i", str(POT), "-d", "app/i18n", "--no-fuzzy-matching", "--ignore-obsolete", "--omit-header")
    en_path = ROOT / "app/i18n/en/LC_MESSAGES/messages.po"
    with en_path.open("rb") as f:
        en = read_po(f, locale="en")
    for message in en:
        if message.id and not message.string:
            message.string = message.id
    with en_path.open("wb") as f:
        write_po(f, en, omit_header=True, sort_output=True)
    with (ROOT / "app/i18n/zh_CN/LC_MESSAGES/messages.po").open("rb") as f:
        missing = [m.id for m in read_po(f, locale="zh_CN") if m.id and not m.string]
    for message_id in missing:
        print(f"zh_CN missing: {message_id!r}")
    print(f"{len(missing)} messages need a Chinese translation")


if __name__ == "__main__":
    main()
