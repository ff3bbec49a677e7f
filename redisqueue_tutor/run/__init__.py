"""Talking to Redis and recording what happened: backends (the embedded fakeredis or a server the
user names), the connection classes (gate, recorder, timeouts), the recording proxy in front of a
real server, faults, the frozen records of a run and their text forms, run files, the comparison
of transports.

It never imports lessons, screens, modes or cli.
"""
