"""redisqueue_tutor: learn Redis as a message broker by running it, one step at a time.

The rooms, from the bottom floor up; a room imports only rooms below it, and nothing imports in
a circle (tests/test_architecture.py reads every import and says where this breaks):

    keyspace/   Redis's commands: where their keys are (Redis's own specifications), the gate
                every command passes, which commands block; the sandbox's command catalogue
    run/        talking to Redis and recording it: backends, connections, the recorder, the
                frozen records of a run and their text forms, run files, faults
    lessons/    the lesson format, loading, the course, questions and quizzes, the engine that
                runs a lesson on a backend, and `tutor check`
    classroom/  a class on one shared Redis: its code and keys, the teacher's side, a student's
                membership and outbox, the room folded from the events, the report
    screens/    everything drawn with Rich, the console, keys from the terminal, frames that fit
    modes/      what a person does: step, predict, present, quiz, sandbox, trace, doctor, class
    cli/        the Typer commands: parse, call a mode, hand the result to a screen, exit codes
    launch.py   the entry point: `tutor trace` starts the program's process first, then cli

Beside them, small modules any room may use: wording.py (counts and lists in messages),
jsonfile.py (bounded JSON reading), progress.py (the learner's saved progress) and collector.py
(the garbage collector held off while start-up and a trace make objects that are not garbage).

Rich and Typer are imported only in screens/ and cli/ (a ruff banned-api rule says so): the
modes draw through screens.
"""

__version__ = "0.1.0"
