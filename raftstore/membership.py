"""Membership change: the rules, apart from pysyncobj's wiring (replica.py)
and the waiting (raft.py).

pysyncobj 0.3.17 changes the configuration one server at a time (Raft thesis
§4.1): an ``add``/``rem`` entry takes effect on each replica as soon as it is
in that replica's log, not when committed. What it does not do, and raftstore
does here:

- one change at a time: its guard (``__changeClusterIDx``) is never set, so a
  second change proposed before the first committed would be appended too.
  ``change_in_flight`` looks for a membership entry after the commit index.
- catch-up first (thesis §4.2.1): a new server counts toward the quorum from
  the moment the leader appends its ``add``. Added while empty, it must copy
  the whole log before anything else commits whenever a member is down.
  raftstore's leader first streams the log to it as a *learner* (a non-voting
  replica, pysyncobj's read-only nodes), in rounds, and proposes the ``add``
  only once a round took less than an election timeout (``CatchUp``).
- quorum: a change that would leave the new configuration without a majority
  of reachable members is refused (``removal_problem``, ``addition_problem``).
- persistence: the member list is written to ``members.json`` in the data
  directory whenever it changes, and read back at start instead of the
  ``--peer`` flags (``load_members``/``save_members``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import StoreError
from .journal import fsync_path

MEMBERS_FILE = "members.json"
MEMBERSHIP = 2  # pysyncobj's _COMMAND_TYPE.MEMBERSHIP: the first byte of such an entry


class MembershipError(StoreError):
    """A membership change refused before anything was proposed. ``status``
    is the HTTP status it answers with."""
    status = 409


class UnknownMember(MembershipError):
    status = 404


class BadMember(MembershipError):
    status = 400


class ChangeInFlight(MembershipError):
    status = 409


class WouldLoseQuorum(MembershipError):
    status = 409


class NotLeader(MembershipError):
    """Only the leader changes the membership; ``leader`` is who is, if known."""
    status = 503

    def __init__(self, message: str, leader: str | None) -> None:
        super().__init__(message)
        self.leader = leader


class NotCaughtUp(MembershipError):
    """The learner did not catch up in time; it was not added."""
    status = 409


def change_in_flight(entries: Iterable[bytes]) -> bool:
    """Whether any of these log entries (commands) is a membership change."""
    return any(cmd[:1] == bytes([MEMBERSHIP]) for cmd in entries)


def majority(voters: int) -> int:
    return voters // 2 + 1


def removal_problem(members: list[str], reachable: set[str], target: str) -> str | None:
    """Why removing ``target`` must be refused, or None. ``members``: every
    voter (this leader included); ``reachable``: those the leader hears from
    (itself included)."""
    if target not in members:
        return None  # the caller answers "unknown member"
    remaining = [m for m in members if m != target]
    if not remaining:
        return f"{target} is the last member"
    up = len([m for m in remaining if m in reachable])
    if up < majority(len(remaining)):
        return (f"without {target} the {len(remaining)} remaining members need "
                f"{majority(len(remaining))} reachable for a quorum and only {up} are")
    return None


def addition_problem(members: list[str], reachable: set[str], new: str) -> str | None:
    """Why adding ``new`` (a caught-up learner) must be refused, or None."""
    after = len(members) + 1
    up = len([m for m in members if m in reachable]) + 1
    if up < majority(after):
        down = sorted(set(members) - reachable)
        return (f"with {new} the {after} members need {majority(after)} reachable for a "
                f"quorum and only {up} would be; remove the unreachable "
                f"{', '.join(down)} first")
    return None


@dataclass
class CatchUp:
    """The learner's catch-up in rounds (thesis §4.2.1): a round ends when the
    learner holds every entry the leader had committed when the round began;
    it is caught up once a round took less than ``round_limit`` (an election
    timeout: the entries it still lacks then take less than that to send).
    ``feed`` the learner's match index and the leader's commit index."""
    round_limit: float
    target: int = -1
    started: float = 0.0
    rounds: int = 0

    def feed(self, now: float, match_index: int, commit_index: int) -> bool:
        if self.target < 0:
            self.target, self.started = commit_index, now
            return False
        if match_index < self.target:
            return False
        took = now - self.started
        self.rounds += 1
        if took < self.round_limit:
            return True
        self.target, self.started = commit_index, now
        return False


def members_path(data_dir: str) -> str:
    return os.path.join(data_dir, MEMBERS_FILE)


def load_members(data_dir: str | None) -> list[str] | None:
    """The member list this replica last persisted (itself included), or None."""
    if not data_dir:
        return None
    try:
        with open(members_path(data_dir), encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        return None
    members = data.get("members") if isinstance(data, dict) else None
    if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
        raise StoreError(f"{members_path(data_dir)} is not a member list; "
                         f"remove it to start from the --peer flags")
    return members


def save_members(data_dir: str, members: Iterable[str]) -> None:
    """Write the member list atomically and durably."""
    path = members_path(data_dir)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"members": sorted(members)}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_path(path)


def start_peers(self_addr: str, flag_peers: list[str], persisted: list[str] | None) -> list[str]:
    """The peers to start with: the persisted member list when there is one
    (a restart keeps the membership changed at run time), else the flags."""
    if persisted is None:
        return list(flag_peers)
    return sorted(m for m in persisted if m != self_addr)
