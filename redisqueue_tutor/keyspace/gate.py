"""The one gate every command the tutor sends passes through, at the moment it is sent.

Lessons, the sandbox and traced programs share it: it sits in the connection classes beneath the
recorder (connections.py), so it sees the final words of a command after templates were filled,
whoever built them. `tutor check` also asks it about every step before a lesson runs
(lesson_model.py), so a dangerous lesson is refused with its file, step and line.

A command passes when:

- it is one the tutor teaches or needs: lists, streams, publish/subscribe, strings, hashes, sets,
  sorted sets, transactions, the connection handshake; never a command Redis files under
  @admin or @dangerous, nor one that reaches the whole server (SCAN, DBSIZE, SELECT, ...);
- every key it names, found by Redis's own key specifications (commandspecs.py), is the run's own:
  inside its namespace, ``tutor:{id}:...``; a name the lesson did not declare is not namespaced,
  so a typo is refused instead of writing the server's real key;
- every channel is the run's own, and every pattern starts with the run's namespace;
- scripts (EVAL, FCALL) only where the run allows them (a private server), or the frameworks'
  scripts the tutor knows (scripts.py): a script's body can reach keys nobody declared.

Anything else raises Refused with one line that names the command and why.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from redisqueue_tutor.keyspace.refused import Refused
from redisqueue_tutor.keyspace.scripts import argv_name_positions, known_script
from redisqueue_tutor.keyspace.specs import (
    CommandSpec,
    Shape,
    UnknownKeys,
    lookup,
    shape_of,
    split_words,
)

__all__ = ["KEYLESS", "REACHES_THE_SERVER", "SCRIPTS", "Gate", "Refused", "display"]

# Commands without keys that a lesson, the sandbox or a program may send.
KEYLESS = frozenset(
    {
        "ping",
        "echo",
        "time",
        "multi",
        "exec",
        "discard",
        "unwatch",
        "quit",
        "hello",
        "auth",
        "lolwut",
        "info",  # read only (READS_THE_SERVER)
        "script|load",  # only where scripts run (SCRIPT_CACHE)
        "script|exists",
        "client|id",
        "client|getname",
        "client|setname",
        "client|info",
        "client|setinfo",
        "command",
        "command|count",
        "command|docs",
        "command|getkeys",
        "command|getkeysandflags",
        "command|info",
        "command|list",
        "unsubscribe",  # with no channels: this connection's own subscriptions
        "punsubscribe",
        "sunsubscribe",
    }
)

# Why a command is refused, where its ACL categories alone would not say.
REACHES_THE_SERVER = {
    "select": "it switches the connection to another database, where the run's keys are not",
    "swapdb": "it swaps whole databases",
    "move": "it moves a key to another database, out of the run's reach",
    "scan": "it lists keys that are not the run's",
    "keys": "it lists keys that are not the run's",
    "randomkey": "it picks a key that may not be the run's",
    "dbsize": "it counts every key of the database, not the run's",
    "reset": "it resets the connection, leaving the tutor's settings",
    "wait": "it waits on the server's replicas",
    "waitaof": "it waits on the server's persistence",
    "pubsub|numpat": "it counts every pattern subscription on the server",
    "flushall": "it erases every key of every database on the server",
    "flushdb": "it erases every key of the database",
    "monitor": "it shows every other client's commands",
    "config": "it changes or reads the server's settings",
    "shutdown": "it stops the server",
    "debug": "it reaches into the server itself",
    "function": "it installs code on the server",
    "script": "it manages the server's script cache",
}
# Filed under @dangerous by Redis, yet only read: workers (RQ, Celery's inspect) ask INFO for the
# server's version before their first command. It changes nothing and names no key.
READS_THE_SERVER = frozenset({"info"})
SCRIPTS = frozenset({"eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"})
# What redis-py's Script sends around EVALSHA (the script's cache): only where scripts run.
SCRIPT_CACHE = frozenset({"script|load", "script|exists"})
_GLOB = re.compile(r"[*?\[\]\\]")
# Commands whose refusal depends on their words, not their name alone (scripts, COPY ... DB).
_WORDS_DECIDE = SCRIPT_CACHE | SCRIPTS | {"copy", "scan", "client|unblock"}
_REFUSALS: dict[tuple[bool, str], str] = {}
_PLAIN: dict[
    tuple[bool, bool, str], bool
] = {}  # (scripts, internal, command) -> Gate.plain  # (scripts allowed, command) -> why refused, or ""


def display(spec_name: str) -> str:
    return spec_name.upper().replace("|", " ")


@dataclass(frozen=True)
class Gate:
    """What one run may send. `prefix` is the run's namespace (``tutor:{id}:``)."""

    prefix: str
    scripts: bool = False
    # The tutor's own connections (the observer, cleanup): they may also scan the namespace and
    # wake a blocked command of the run's own.
    internal: bool = False

    def owns(self, name: str) -> bool:
        return bool(self.prefix) and name.startswith(self.prefix) and len(name) > len(self.prefix)

    def check(self, args: Sequence[Any]) -> None:
        """Raise Refused when the command may not be sent; return when it may."""
        words = split_words(list(args))
        problem = self.problem(words)
        if problem:
            raise Refused(problem)

    def problem(self, words: list[str], shown: Callable[[str], str] = lambda n: n) -> str:
        """Why the command may not be sent, in one line; "" when it may. `shown` turns a name
        back into what the learner wrote (the short name)."""
        if not words:
            return "an empty command"
        spec = lookup(words)
        if spec is None:
            return f"{words[0].upper()} is not a Redis command the tutor knows"
        if self.internal and spec.name in ("scan", "client|unblock"):
            return self._internal(words, spec.name)
        return self._refused(spec, words) or self._foreign_names(spec, words, shown)

    def shaped_problem(
        self, shape: Shape, words: list[str], shown: Callable[[str], str] = lambda n: n
    ) -> str:
        """`problem(words)` for a command whose Shape the caller has found (the trace asks for
        every command): the refusal by command remembered, where the words do not change it."""
        spec = shape.spec
        if spec.name in _WORDS_DECIDE or self.internal:
            return self.problem(words, shown)
        key = (self.scripts, spec.name)
        refused = _REFUSALS.get(key)
        if refused is None:
            refused = _REFUSALS[key] = self._refused(spec, words)
        return refused or self._foreign(shape, words, shown)

    def _foreign_names(
        self, spec: CommandSpec, words: list[str], shown: Callable[[str], str]
    ) -> str:
        command = display(spec.name)
        try:
            shape = shape_of(words)
        except UnknownKeys as exc:
            return f"{command} is refused: {exc}"
        return self._foreign(shape, words, shown)

    def plain(self, shape: Shape) -> bool:
        """Whether the gate passes a command of this shape whenever the names at its places are
        the run's own (non-empty, in its namespace): no refusal by name, no channel, pattern or
        script (the trace then checks no more than that: tracer.prefix). Remembered by command."""
        spec = shape.spec
        key = (self.scripts, self.internal, spec.name)
        found = _PLAIN.get(key)
        if found is None:
            found = _PLAIN[key] = (
                not self.internal
                and spec.name not in _WORDS_DECIDE
                and not self._refused(spec, [spec.name])  # its words do not change that
                and not shape.channels
                and not shape.patterns
                and (bool(spec.keys) or spec.name in KEYLESS)
            )
        return found

    def _refused(self, spec: CommandSpec, words: list[str]) -> str:
        """Why the command is refused whatever it names (the server, scripts, other clients)."""
        name = spec.name
        command = display(name)
        if name in SCRIPT_CACHE and (
            self.scripts or name == "script|exists" or known_script(words) is not None
        ):
            return ""
        if name in REACHES_THE_SERVER:
            return f"{command} is refused: {REACHES_THE_SERVER[name]}"
        head = name.split("|", 1)[0]
        if head in REACHES_THE_SERVER and head not in ("command",):
            return f"{command} is refused: {REACHES_THE_SERVER[head]}"
        if name in READS_THE_SERVER:
            return ""
        if "@admin" in spec.categories or "@dangerous" in spec.categories:
            return f"{command} is refused: Redis counts it among the dangerous or admin commands"
        if head == "client" and name not in KEYLESS:
            return f"{command} is refused: it reaches other clients of the server"
        if name in SCRIPTS and not self.scripts and known_script(words) is None:
            return (
                f"{command} is refused: a script can reach keys that are not the run's, "
                "and the tutor cannot check them (it is not one of the scripts it knows)"
            )
        if name == "copy" and any(w.upper() == "DB" for w in words[3:]):
            return f"{command} ... DB is refused: it copies into another database"
        return ""

    def _foreign(self, shape: Shape, words: list[str], shown: Callable[[str], str]) -> str:
        """Why a key, channel or pattern the command names is not the run's; "" when all are."""
        spec, channels, patterns = shape.spec, shape.channels, shape.patterns
        name = spec.name
        command = display(name)
        if spec.keys:
            for index in [*shape.keys, *argv_name_positions(words)]:
                if not self.owns(words[index]):
                    return (
                        f"{command} names the key {shown(words[index])!r}, which is not one of "
                        "this run's keys"
                    )
        elif not channels and not patterns and name not in KEYLESS:
            if name.startswith("pubsub|"):
                return (
                    f"{command} is refused: without a pattern of the run's it lists every channel"
                )
            return f"{command} is refused: it reaches beyond the run's own keys"
        for index in channels:
            if not self.owns(words[index]):
                return (
                    f"{command} names the channel {shown(words[index])!r}, which is not one of "
                    "this run's channels"
                )
        for index in patterns:
            if not self._pattern_is_ours(words[index]):
                return (
                    f"{command} pattern {shown(words[index])!r} could match channels that are "
                    "not this run's"
                )
        return ""

    def _pattern_is_ours(self, pattern: str) -> bool:
        # The namespace holds no glob character, so a pattern that starts with it matches only
        # the run's own channels.
        return self.owns(pattern) and not _GLOB.search(self.prefix)

    def _internal(self, words: list[str], name: str) -> str:
        if name == "client|unblock":
            return ""  # the engine wakes its own blocked command; the id is its own connection's
        upper = [w.upper() for w in words]
        if "MATCH" in upper[2:]:
            pattern = (
                words[upper.index("MATCH", 2) + 1]
                if upper.index("MATCH", 2) + 1 < len(words)
                else ""
            )
            if pattern == self.prefix + "*" and not _GLOB.search(self.prefix):
                return ""
        return "SCAN is refused: only the run's own namespace may be scanned"
