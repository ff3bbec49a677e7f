"""The pure key-to-move logic of stepping."""

from __future__ import annotations

from redisqueue_tutor.modes.step import Move, Navigator
from redisqueue_tutor.screens.keys import LEFT, RIGHT


def test_forward_back_restart_jump_quit():
    nav = Navigator(total=7)
    assert nav.handle("\r") is Move.GO and nav.position == 2
    assert nav.handle(RIGHT[0]) is Move.GO and nav.position == 3
    assert nav.handle("n") is Move.GO and nav.position == 4
    assert nav.handle("b") is Move.GO and nav.position == 3
    assert nav.handle(LEFT[0]) is Move.GO and nav.position == 2
    assert nav.handle("r") is Move.GO and nav.position == 1
    assert nav.handle("6") is Move.STAY and nav.digits == "6"
    assert nav.handle("\r") is Move.GO and nav.position == 6
    assert nav.handle("?") is Move.HELP
    assert nav.handle("q") is Move.QUIT


def test_edges_and_bad_jumps_explain_themselves():
    nav = Navigator(total=3)
    assert nav.handle("b") is Move.STAY and nav.message == "This is the first step."
    nav.handle("9")
    assert nav.handle("\r") is Move.STAY
    assert nav.message == "There is no step 9; steps go from 1 to 3."
    nav.handle("1")
    nav.handle("\x7f")
    assert nav.digits == ""
    assert nav.handle("x") is Move.STAY
    nav.handle("3")
    nav.handle("\n")
    assert nav.position == 3
    assert nav.handle(RIGHT[0]) is Move.STAY  # nothing after the last step
    assert nav.handle("\r") is Move.QUIT  # Enter at the end leaves


def test_keys_that_arrive_together_are_handed_out_one_by_one():
    from redisqueue_tutor.screens.console import key_reader, split_keys

    assert split_keys("18\r") == ["1", "8", "\r"]
    assert split_keys("\x1b[C\x1b[Dq") == ["\x1b[C", "\x1b[D", "q"]
    assert split_keys("\x1b[6~b") == ["\x1b[6~", "b"]
    chunks = iter(["12\r", "\x1b[C"])
    read = key_reader(lambda: next(chunks))
    assert [read() for _ in range(4)] == ["1", "2", "\r", "\x1b[C"]


def test_a_long_lesson_is_trimmed_to_fit_a_short_terminal():
    import io

    from redisqueue_tutor.lessons import find_lesson
    from redisqueue_tutor.lessons.engine import run_lesson
    from redisqueue_tutor.run.backend import running
    from redisqueue_tutor.screens.console import Look, make_console
    from redisqueue_tutor.screens.frame import fit_to_screen
    from redisqueue_tutor.screens.step import StepView, step_screen

    lesson = find_lesson("compare")
    with running("fake") as backend:
        start, records = run_lesson(lesson, backend)
    console = make_console(io.StringIO(), width=100)
    console.size = (100, 40)  # type: ignore[assignment]
    view = StepView(lesson, start, tuple(records[:18]), len(records), "fake")
    fitted = fit_to_screen(view, console, Look(False))
    assert fitted.table_from > 0 and fitted.tracker_latest is not None
    lines = console.render_lines(step_screen(fitted, Look(False)), console.options, pad=False)
    assert len(lines) < 40
    text = "\n".join("".join(s.text for s in line) for line in lines)
    assert "Listener l2 crashes" in text  # the current step is always shown
    assert f"steps 1-{records[fitted.table_from - 1].number} are above" in text
    short = StepView(lesson, start, tuple(records[:2]), len(records), "fake")
    assert fit_to_screen(short, console, Look(False)) == short  # nothing trimmed when it fits


def test_a_row_taller_than_the_terminal_is_cut_not_refused(tmp_path):
    """A traced pipeline of big values (RQ's enqueue) makes one row taller than 80x24: its cells
    are cut with a note of what is left out, instead of "make the terminal at least ..."."""
    import io

    from redisqueue_tutor.modes.trace import TraceOptions, trace_program
    from redisqueue_tutor.run.backend import running
    from redisqueue_tutor.screens.console import Look, make_console
    from redisqueue_tutor.screens.frame import fitted_frame
    from redisqueue_tutor.screens.step import StepView

    script = tmp_path / "pipeline.py"
    script.write_text(
        "import redis\nr = redis.Redis()\npipe = r.pipeline()\n"
        "for i in range(12):\n    pipe.hset('job', f'field{i}', 'x' * 150)\npipe.execute()\n"
    )
    with running("fake") as backend:
        run = trace_program(script, backend, TraceOptions(timeout=30))
    assert run.outcome.status == "finished", run.outcome
    console = make_console(io.StringIO(), width=80)
    console.size = (80, 24)  # type: ignore[assignment]
    view = StepView(run, run.start, run.steps, len(run.steps), run.backend)
    drawn, fitted = fitted_frame(view, console, Look(False))
    assert fitted is not None and fitted.cell_chars is not None
    lines = console.render_lines(drawn, console.options, pad=False)
    assert len(lines) < 24
    text = "\n".join("".join(s.text for s in line) for line in lines)
    assert "more characters)" in text and "Step 1 of 1" in text


def test_enter_on_a_closing_taller_than_the_terminal_shows_the_rest_before_it_quits():
    """The closing page (the comparison, the end note) scrolls: Enter, pressed as on every step,
    first shows what is below, and quits only from the bottom."""
    import io

    from redisqueue_tutor.lessons import find_lesson
    from redisqueue_tutor.lessons.engine import LessonRun
    from redisqueue_tutor.modes.step import play_interactive
    from redisqueue_tutor.run.backend import running
    from redisqueue_tutor.screens.console import Look, make_console

    console = make_console(io.StringIO(), plain=True, width=80)
    console.size = (80, 12)  # type: ignore[assignment]
    total = len(find_lesson("compare").steps)
    pressed: list[str] = []

    def key() -> str:
        script = [*str(total), "\r", "\r"]  # jump to the last step, then the closing page
        pressed.append(script[len(pressed)] if len(pressed) < len(script) else "\r")
        assert len(pressed) < 40, "Enter never quit"
        return pressed[-1]

    with (
        running("fake") as backend,
        LessonRun(find_lesson("compare"), backend) as run,  # closed: its listeners end
        console.capture() as capture,
    ):
        play_interactive(run, console, key, Look(True), "fake")
    text = capture.get()
    assert "The end: Enter more" in text  # said while there is more below
    assert len(pressed) > len(str(total)) + 3  # Enter scrolled at least once before it quit
