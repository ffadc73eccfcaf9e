"""What a person sees while a model trains: the book's summary lines and a progress bar."""

from __future__ import annotations

import sys


class Reporter:
    """Summary lines and, when wanted, a tqdm progress bar over epochs."""

    def __init__(self, progress: bool | None, first: int, last: int):
        self.bar = None
        if progress is None:
            progress = sys.stderr.isatty()
        if progress and last >= first:
            try:
                from tqdm.auto import tqdm
            except ImportError:  # tqdm is optional: pip install chainrule[progress]
                return
            self.bar = tqdm(total=last - first + 1, desc="training", unit="epoch",
                            file=sys.stderr, dynamic_ncols=True)

    def write(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(line)
        else:
            print(line)

    def update(self, stats: dict) -> None:
        if self.bar is not None:
            self.bar.set_postfix(acc=f"{stats['accuracy']:.3f}", loss=f"{stats['loss']:.3f}",
                                 refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
