"""The class's results for the teacher's records: per student and per question, right or wrong,
and the misconception a wrong answer revealed. Markdown for reading, CSV for a spreadsheet."""

from __future__ import annotations

import csv
import io
import time

from redisqueue_tutor.classroom.room import Room

COLUMNS = ("student", "lesson", "question", "asked as", "right", "misconception")


def rows(room: Room) -> list[tuple[str, ...]]:
    """One row per answer, students in name order; a student who answered nothing has one row."""
    out: list[tuple[str, ...]] = []
    for student in room.roster():
        if not student.answers:
            out.append((student.name, student.lesson, "", "", "", ""))
        out.extend(
            (
                student.name,
                answer.lesson,
                answer.question,
                answer.source,
                "yes" if answer.correct else "no",
                answer.misconception,
            )
            for answer in student.answers
        )
    return out


def as_csv(room: Room) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows(room):
        # A cell starting with = + - @ would be a formula in a spreadsheet: names come from
        # students, so keep every cell text.
        writer.writerow(["'" + c if c[:1] in ("=", "+", "-", "@") else c for c in row])
    return buffer.getvalue()


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ") or " "


def as_markdown(room: Room) -> str:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime())
    lines = [f"# Class {room.code}", "", f"Report of {when}: {len(room.students)} students.", ""]
    lines += ["| student | where | quiz scores | right |", "| --- | --- | --- | --- |"]
    for student in room.roster():
        where = f"{student.lesson} step {student.step}/{student.total}" if student.lesson else ""
        scores = ", ".join(f"{lesson} {s}/{t}" for lesson, (s, t) in student.scores.items())
        right = f"{student.right}/{len(student.answers)}" if student.answers else ""
        lines.append(
            f"| {_cell(student.name)} | {_cell(where)} | {_cell(scores)} | {right or ' '} |"
        )
    lines += ["", "## Answers", "", "| " + " | ".join(COLUMNS) + " |"]
    lines.append("|" + " --- |" * len(COLUMNS))
    for row in rows(room):
        if row[2]:
            lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
    return "\n".join(lines) + "\n"
