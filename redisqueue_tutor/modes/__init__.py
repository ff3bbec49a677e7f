"""What a person does: step through a lesson, present it, take a quiz, type in the sandbox, trace
a program, ask the doctor. Each mode runs lessons or commands (lessons, run) and draws through
screens; the CLI calls a mode and turns its outcome into an exit code.
"""
