"""The KJV corpus: every verse from Debian's bible-kjv-text (read with the `bible` program of
bible-kjv), split deterministically into train / validation by book chapter."""

import subprocess
import zlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Verse:
    book: str
    chapter: int
    verse: int
    text: str


def read_verses() -> list[Verse]:
    # One very wide line per verse; chapter headings ("Genesis 1") on their own lines.
    out = subprocess.run(
        ['bible', '-l1000000', 'Gen1:1-Rev22:21'], check=True, capture_output=True, text=True
    ).stdout
    verses: list[Verse] = []
    book, chapter = '', 0
    for raw in out.splitlines():
        line = raw.strip()
        if not line:
            continue
        head, _, rest = line.partition(' ')
        if head.isdigit() and rest:
            verses.append(Verse(book, chapter, int(head), ' '.join(rest.split())))
        else:
            name, _, num = line.rpartition(' ')
            book, chapter = name, int(num)
    return verses


def is_validation(v: Verse) -> bool:
    """About 5% of chapters, chosen by a stable hash of the chapter's name."""
    return zlib.crc32(f'{v.book} {v.chapter}'.encode()) % 20 == 0


def split() -> tuple[list[Verse], list[Verse]]:
    verses = read_verses()
    return [v for v in verses if not is_validation(v)], [v for v in verses if is_validation(v)]


if __name__ == '__main__':
    train, val = split()
    print(f'{len(train)} train verses, {len(val)} validation verses')
    print(train[0], val[0], sep='\n')
