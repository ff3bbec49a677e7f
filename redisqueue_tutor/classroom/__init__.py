"""A class on one shared Redis: the teacher's class and each student's membership.

A class is a few keys under one namespace, ``tutor:class:{CODE}:`` (the braces a Redis Cluster
hash tag, so every key of a class is on one slot), each with an expiry that activity renews:

- ``meta``: a hash the students may read: that the class is open, since when, the poll on now;
- ``owner``: the SHA-256 of the teacher's secret, created at `open` and kept in the teacher's data
  folder; only a tutor holding the secret acts as the teacher;
- ``names``: a hash of the names taken, so that two students cannot both be "Ana";
- ``events``: a stream of what students did (joined, saw a step, answered), bounded in length;
  each event carries its student and a number, so a tutor that lost its connection sends again
  what it was not sure of, and the teacher's side counts every event once;
- ``board``: a stream of what the teacher sends to the room (a poll, its answer, the end);
- ``polls``: the teacher's record of each poll, with its answer (not for students' eyes).

Every command passes the gate (keyspace/gate.py) with the class's namespace, as a lesson's do
with the run's.
"""
