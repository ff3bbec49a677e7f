"""Saved progress: pure updates, the file under a temporary data folder, corruption, concurrency."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from redisqueue_tutor.progress import (
    ENV_DATA_DIR,
    LessonProgress,
    Progress,
    ProgressStore,
    data_dir,
    save_steps_seen,
    with_quiz,
    with_steps_seen,
    without,
)


@pytest.fixture(autouse=True)
def data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv(ENV_DATA_DIR, str(folder))
    return folder


# --------------------------------------------------------------------------------------------------
# Pure updates


def test_steps_seen_are_a_union():
    progress = with_steps_seen(Progress(), "queue", [1, 2], 7)
    progress = with_steps_seen(progress, "queue", [2, 5], 7)
    assert progress.lesson("queue").steps_seen == (1, 2, 5)
    assert progress.lesson("queue").total_steps == 7


def test_a_quiz_adds_missed_removes_answered_right_and_keeps_the_best_complete_score():
    progress = with_quiz(
        Progress(), "queue", right=["a"], missed=["b", "c"], score=1, total=3, complete=True
    )
    entry = progress.lesson("queue")
    assert entry.missed == ("b", "c") and (entry.best_score, entry.best_total) == (1, 3)
    progress = with_quiz(
        progress, "queue", right=["b"], missed=[], score=1, total=1, complete=False
    )
    entry = progress.lesson("queue")
    assert entry.missed == ("c",)
    assert (entry.best_score, entry.best_total) == (1, 3)  # a partial quiz is never a best
    progress = with_quiz(progress, "queue", right=["c"], missed=[], score=2, total=2, complete=True)
    entry = progress.lesson("queue")
    assert entry.missed == () and (entry.best_score, entry.best_total) == (2, 2)
    progress = with_quiz(progress, "queue", right=[], missed=["d"], score=0, total=1, complete=True)
    assert (progress.lesson("queue").best_score, progress.lesson("queue").quizzes) == (2, 4)


def test_done_is_half_steps_and_half_best_score():
    entry = LessonProgress(steps_seen=(1, 2, 3, 4), total_steps=8, best_score=3, best_total=4)
    assert entry.done() == pytest.approx((0.5 + 0.75) / 2)
    assert LessonProgress().done(7) == 0.0


def test_without_clears_one_lesson_or_all():
    progress = with_steps_seen(with_steps_seen(Progress(), "a", [1], 3), "b", [1], 3)
    assert set(without(progress, "a").lessons) == {"b"}
    assert without(progress, None).lessons == {}


# --------------------------------------------------------------------------------------------------
# The file


def test_the_data_folder_comes_from_the_environment(data_folder: Path):
    assert data_dir() == data_folder
    assert ProgressStore().path == data_folder / "progress.json"


def test_save_and_load_round_trip_leaves_no_temporary_files(data_folder: Path):
    store = ProgressStore()
    assert store.load().progress == Progress()
    store.update(lambda p: with_steps_seen(p, "queue", [1, 2, 3], 7))
    loaded = ProgressStore().load()
    assert loaded.warning is None
    assert loaded.progress.lesson("queue").steps_seen == (1, 2, 3)
    assert sorted(p.name for p in data_folder.iterdir()) == ["progress.json", "progress.lock"]
    assert json.loads((data_folder / "progress.json").read_text())["format"] == 1


@pytest.mark.parametrize(
    "content", [b"{not json", b"[1, 2]", b'{"lessons": {"q": {"quizzes": -1}}}', b"\xff\xfe"]
)
def test_a_corrupt_file_is_set_aside_with_a_warning_never_lost(data_folder: Path, content: bytes):
    data_folder.mkdir()
    (data_folder / "progress.json").write_bytes(content)
    store = ProgressStore()
    loaded = store.update(lambda p: with_steps_seen(p, "queue", [1], 7))
    assert loaded.warning is not None and "was unreadable" in loaded.warning
    (aside,) = data_folder.glob("progress.corrupt-*.json")
    assert aside.read_bytes() == content  # the learner's file is kept as it was
    assert str(aside) in loaded.warning
    assert store.load().progress.lesson("queue").steps_seen == (1,)
    assert store.load().warning is None


def test_a_file_from_a_newer_format_is_set_aside_not_misread(data_folder: Path):
    data_folder.mkdir()
    (data_folder / "progress.json").write_text('{"format": 2, "lessons": {}}')
    loaded = ProgressStore().load()
    assert loaded.warning and "format 2" in loaded.warning
    assert len(list(data_folder.glob("progress.corrupt-*.json"))) == 1


def test_an_unusable_folder_is_a_warning_for_stepping(tmp_path: Path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(ENV_DATA_DIR, str(blocker / "data"))
    warning = save_steps_seen("queue", [1], 7)
    assert warning is not None and warning.startswith("progress not saved: cannot use")
    assert save_steps_seen("queue", [], 7) is None  # nothing seen, nothing to save


def _save_many(folder: str, worker: int, rounds: int) -> None:
    store = ProgressStore(Path(folder))
    for n in range(rounds):
        store.update(
            lambda p, n=n: with_quiz(
                p, "queue", right=[], missed=[f"w{worker}-{n}"], score=0, total=1, complete=True
            )
        )
        store.update(lambda p, n=n: with_steps_seen(p, f"lesson-{worker}", [n + 1], rounds))


def test_two_tutors_saving_at_once_lose_nothing(data_folder: Path):
    workers, rounds = 6, 15
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_save_many, args=(str(data_folder), w, rounds))
        for w in range(workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
        assert process.exitcode == 0
    progress = ProgressStore().load().progress
    assert len(progress.lesson("queue").missed) == workers * rounds
    assert progress.lesson("queue").quizzes == workers * rounds
    for w in range(workers):
        assert progress.lesson(f"lesson-{w}").steps_seen == tuple(range(1, rounds + 1))


def test_a_folder_in_place_of_the_file_is_set_aside_too(data_folder: Path):
    (data_folder / "progress.json").mkdir(parents=True)
    loaded = ProgressStore().update(lambda p: with_steps_seen(p, "queue", [1], 7))
    assert loaded.warning and "(cannot read it: Is a directory)" in loaded.warning
    assert [p.is_dir() for p in data_folder.glob("progress.corrupt-*.json")] == [True]
    assert ProgressStore().load().progress.lesson("queue").steps_seen == (1,)


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ({"best_score": 4, "best_total": 3}, "lessons.queue: best score 4/3 is above the total"),
        ({"best_score": 1}, "lessons.queue: best_score and best_total go together"),
        ({"quizzes": 1.0}, "lessons.queue.quizzes: Input should be a valid integer"),
        ({"steps_seen": [10_001]}, "lessons.queue.steps_seen.0: Input should be less than"),
    ],
)
def test_the_reason_a_file_was_set_aside_names_the_field(data_folder: Path, entry, reason):
    data_folder.mkdir()
    (data_folder / "progress.json").write_text(json.dumps({"lessons": {"queue": entry}}))
    loaded = ProgressStore().load()
    assert loaded.warning and f"unreadable ({reason}" in loaded.warning
