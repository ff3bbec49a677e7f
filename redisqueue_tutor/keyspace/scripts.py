"""Lua scripts the tutor knows, so that they may run on a server the user names.

A script can reach any key: its body may build names the gate never sees. So on a real server
the gate lets a script through only when it is one of these, known by the SHA1 of its body (what
EVALSHA names, and what EVAL and SCRIPT LOAD carry), each read line by line: every key it touches
is declared in KEYS (where Redis's key specifications find it, and the run's namespace is put on
it), or is an ARGV argument listed here as a name (a key, or the beginning of keys the script
builds), which gets the namespace too. Then the script stays inside the run.

The frameworks' own scripts, as their current versions send them (tests/test_scripts.py
recomputes every hash from the installed libraries and fails the day one changes):

- redis-py's Lock (release, extend, reacquire): KEYS[1] only. Celery's Redis transport takes
  its `unacked_mutex` with it.
- kombu's binding refresh (KEYS only) and sweep: the sweep deletes binding tables whose names it
  builds from ARGV[1] and ARGV[2] (`_kombu.binding.` and `_kombu.binding_permanent.`), so those
  two are names.
- channels_redis's group send (KEYS only) and the receive clean-up, which moves a backup sorted
  set into a channel: both passed as ARGV[1] and ARGV[2].
- RQ's scheduler lock (acquire or refresh, and release): KEYS[1] only; ARGV are a token and a
  time to live.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class KnownScript:
    what: str
    # 1-based ARGV indexes that are key names or the beginnings of key names.
    argv_names: tuple[int, ...] = ()


KNOWN: dict[str, KnownScript] = {
    "c3f8721cbb97f72bc19e972846bd7aaf91901658": KnownScript("redis-py's Lock.release"),
    "a4e8783852e6b949f9ef3a97212805108459a890": KnownScript("redis-py's Lock.extend"),
    "1cac51482acf5858da00f6d685d68f886cd6b6b2": KnownScript("redis-py's Lock.reacquire"),
    "ef7a9e205fbaf46bf959e1522ff796622fc676c7": KnownScript("kombu's binding refresh"),
    "9a2b966a0a2d2d0e36ec32bc30fc89342b94a4bf": KnownScript("kombu's binding sweep", (1, 2)),
    "5bcf6ea1d6c02c00f44e7030f4f9772a199deaf1": KnownScript("channels_redis's group send"),
    "8d28fb4c84249684940e751f9f15170eb9a96e1a": KnownScript(
        "channels_redis's receive clean-up", (1, 2)
    ),
    "4227fa753143e6f652e2e185d254964b3a7413a5": KnownScript("RQ's scheduler lock, acquire"),
    "d44df6e1a0e76df1009084a91af26cc23ac035a9": KnownScript("RQ's scheduler lock, release"),
}

EVALS = frozenset({"eval", "eval_ro"})
EVALSHAS = frozenset({"evalsha", "evalsha_ro"})


def sha1(body: str) -> str:
    return hashlib.sha1(body.encode("utf-8", "surrogateescape")).hexdigest()


def known_script(words: list[str]) -> KnownScript | None:
    """The script an EVAL, EVALSHA or SCRIPT LOAD command carries, if the tutor knows it."""
    if len(words) < 2:
        return None
    name = words[0].lower()
    if name in EVALSHAS:
        return KNOWN.get(words[1].lower())
    if name in EVALS:
        return KNOWN.get(sha1(words[1]))
    if name == "script" and words[1].lower() == "load" and len(words) == 3:
        return KNOWN.get(sha1(words[2]))
    return None


def argv_name_positions(words: list[str]) -> list[int]:
    """Indexes of the ARGV words of a known script's EVAL or EVALSHA that are key names."""
    script = known_script(words)
    if script is None or not script.argv_names or words[0].lower() == "script":
        return []
    try:
        first_argv = 3 + int(words[2])
    except (IndexError, ValueError):
        return []
    positions = [first_argv + i - 1 for i in script.argv_names]
    return [p for p in positions if p < len(words)]
