"""The baseline: a minimal Typer app whose one command prints a five-row Rich table.

With `--fakeredis` it also imports fakeredis and runs one LPUSH, the baseline for a piped lesson.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer()


@app.command()
def main(fakeredis: bool = False) -> None:
    if fakeredis:
        import fakeredis as fake

        fake.FakeRedis().lpush("queue", "task1")
    table = Table("Step", "Action")
    for number in range(5):
        table.add_row(str(number), "push")
    Console().print(table)


if __name__ == "__main__":
    sys.exit(app())
