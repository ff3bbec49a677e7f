"""Loaded by every Python process a traced program starts (`tutor trace` puts this folder first
on PYTHONPATH): points its redis-py clients at the run's endpoint (modes/trace/redirect.py)."""

try:
    from redisqueue_tutor.modes.trace.redirect import install_from_environment
except ImportError:  # another Python, without the tutor: nothing to redirect with
    pass
else:
    install_from_environment()
