"""Everything a person reads or types at: the console, keys from the terminal, and one module per
mode drawn with Rich (step, present, quiz, sandbox, trace, handouts), plus the frames that fit the
terminal.

Screens read records and lessons; they never send a command to Redis.
"""
