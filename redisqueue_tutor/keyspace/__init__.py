"""Redis's commands as the tutor knows them: where their keys and channels are (specs, from Redis's
own command specifications), what may be sent on a user's server (gate), and which block (blocking).

The lowest room: it imports nothing of the tutor.
"""
