"""Approval mode (`reconciler run --approve changes|all`): what waits for a person, and its records.

The files last approved are kept as raw text in the state directory (`approvals.json`, never
interpolated, so no secret is written), and read again with the environment and env file of the
moment. Each pass of a gated agent (`gated`):

- with `changes`, first converges the engine towards the approved files: drift (a container
  stopped, killed, disconnected or removed by hand) is healed towards the spec last approved,
  never towards one that waits; with `all`, nothing is converged;
- then plans the files in force against the engine, changing nothing. A plan with an actionable
  change (create, replace, update, start, stop, remove; a blocked one counts, a check or a
  conflict does not) waits as the pending plan; one with none makes the files in force the
  approved ones (the engine already matches them);
- an approve naming the id of the plan the pass makes applies the files (a whole pass, as an
  agent without approvals runs it) and makes them the approved ones; one naming another id
  (the files or the engine changed since that plan was shown) is refused with the fresh plan;
- a reject naming that id drops the plan until the files change (in git mode: until another
  revision is in force); one naming another id is refused with the fresh plan.

A plan's id is a content hash (`plan_id`) of the desired state (the files' bytes and the digest of
the specs), the observed state (`fingerprint`) and the plan (its JSON): the same id on the next
pass, or after a restart, as long as none of them changed. Until any files are approved (a first
start with a plan waiting), nothing is healed.

The approved files are read with the env file and environment of the moment, so each approved
spec's keyed hash (`sealed`, in-place fields included) is kept too: a spec that the env file or
the environment changed since it was approved is held in the heal (`changed_outside`), and its
change waits for approval like an edit's.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from reconciler.agent.lastgood import LastKnownGood
from reconciler.agent.requests import APPROVE, REJECT, Request
from reconciler.agent.statedir import StateDir, StateDirError
from reconciler.agent.timestamps import iso
from reconciler.commands.render import plan_data
from reconciler.converge import PassReport
from reconciler.desired.filesources import keyed_hash, process_key
from reconciler.desired.loader import combine, environment, load_bytes
from reconciler.desired.problems import LoadFailure
from reconciler.model import FORM_WITHOUT_UPDATE, DesiredState, Spec, canonical
from reconciler.tasks import Plan
from runtime.base import ObservedState

log = structlog.get_logger("reconciler.agent")

CHANGES = "changes"  # changes from the files wait; drift is healed towards the approved files
ALL = "all"  # drift waits too
MODES = (CHANGES, ALL)
ID_LENGTH = 16  # hex digits of a plan id


def files_key(files: Mapping[str, bytes], revision: str | None) -> str:
    """What a reject holds until it changes: the git revision in force, or in directory mode the
    sha256 of the files' relative paths and bytes."""
    if revision:
        return f"revision:{revision}"
    digest = hashlib.sha256()
    for rel, data in sorted(files.items()):
        digest.update(f"{rel}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def fingerprint(observed: ObservedState) -> list[list[Any]]:
    """What of the engine a plan id covers: each owned container's id, name, state, spec hash label
    and networks, each network's id and name, each volume's name and creation time, and the
    unowned holders of desired names. A container's health or uptime is not in it."""
    containers = [["container", c.id, c.name, c.state, c.labels.get("io.reconciler.spec-hash", ""),
                   sorted(c.networks)] for c in observed.containers]
    networks = [["network", n.id, n.name] for n in observed.networks]
    volumes = [["volume", v.name, v.created] for v in observed.volumes]
    unowned = [["unowned", kind, sorted(names)] for kind, names in observed.unowned.items()]
    return sorted(containers + networks + volumes + unowned, key=json.dumps)


def plan_id(key: str, desired: DesiredState, observed: ObservedState, plan: Mapping[str, Any]) -> str:
    """The content hash naming a pending plan: sha256 over the files (`files_key`), the desired
    state's digest, the engine's `fingerprint` and the plan's JSON; its first ID_LENGTH hex digits.
    The changes' per-field diffs are left out: they show the desired specs against the last-applied
    records, which a pass writes after it ran (a container made again by a heal has its record
    only from then on), and what the plan does is the same with or without them."""
    changes = [{k: v for k, v in change.items() if k != "diff"} for change in plan.get("changes") or ()]
    content = {"files": key, "desired": desired.digest(), "observed": fingerprint(observed),
               "plan": {**plan, "changes": changes}}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:ID_LENGTH]


def sealed(spec: Spec, key: bytes) -> str:
    """The keyed hash (`key`: the state directory's) of a spec's canonical form with its in-place
    fields: what an approval records of each spec, never a value."""
    text = json.dumps({"kind": spec.kind, **canonical(spec, FORM_WITHOUT_UPDATE)}, sort_keys=True)
    return keyed_hash(key, text.encode())


def waits(plan: Plan) -> bool:
    """Whether `plan` holds something to approve: an actionable change (a blocked one too)."""
    return any(change.kind.actionable for change in plan.changes)


@dataclass(frozen=True)
class Outcome:
    """What became of an approve or a reject: `done` (applied, or dropped), `message` for people,
    and the pending plan after the pass (the status's `pending_plan`; None: none waits)."""

    done: bool
    message: str
    pending: dict[str, Any] | None


class Gate:
    """The approval records of one agent (`mode` one of MODES), kept in `store` when given.
    Raises StateDirError when the store's record cannot be read."""

    def __init__(self, mode: str, store: StateDir | None) -> None:
        if mode not in MODES:
            raise ValueError(f"--approve {mode}: one of {', '.join(MODES)}")
        self.mode = mode
        self.store = store
        record = store.approvals() if store is not None else {}
        approved = record.get("approved")
        try:
            self.approved: dict[str, bytes] | None = (
                {rel: text.encode() for rel, text in approved["files"].items()} if approved else None)
            self.approved_at: float | None = approved.get("at") if approved else None
            self.sealed: dict[str, str] = dict(approved.get("specs") or {}) if approved else {}
            self.pending: dict[str, Any] | None = record.get("pending")
            self.rejected: dict[str, Any] | None = record.get("rejected")
            if (self.pending is not None and not {"id", "plan", "since", "files"} <= set(self.pending)) or (
                    self.rejected is not None and not {"id", "files"} <= set(self.rejected)):
                raise KeyError("pending or rejected")
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            raise StateDirError(f"{store.path}: not an approvals record: {error}") from None
        self._loaded: tuple[tuple, DesiredState | None] | None = None

    def holding(self) -> bool:
        """Whether a plan waits, or one was rejected and the files did not change since."""
        return self.pending is not None or self.rejected is not None

    def why(self) -> str:
        """Why what the files change is not done: "waits for approval (plan ID)", or "rejected (plan
        ID) until the files change"; only while `holding()`."""
        if self.pending is not None:
            return f"waits for approval (plan {self.pending['id']})"
        assert self.rejected is not None
        return f"rejected (plan {self.rejected['id']}) until the files change"

    def shown(self) -> dict[str, Any] | None:
        """The pending plan as the status shows it: {"id", "plan", "revision", "since"}; None: none."""
        if self.pending is None:
            return None
        return {key: self.pending[key] for key in ("id", "plan", "revision", "since")}

    def approved_state(self, lastgood: LastKnownGood) -> DesiredState | None:
        """The desired state of the approved files, read as `lastgood` reads its files (its folder,
        env file and environment); None when none were approved or they no longer load (logged)."""
        if self.approved is None:
            return None
        if self.approved == {rel: version.data for rel, version in lastgood.files.items()}:
            return lastgood.state
        try:
            env, secrets = environment(lastgood.env_file, lastgood.environ)
        except LoadFailure as failure:
            log.warning("approval.approved_unreadable", reason=str(failure.problem))
            return None
        cache = (tuple(sorted(self.approved.items())), tuple(sorted(env.items())), secrets, lastgood.root)
        if self._loaded is None or self._loaded[0] != cache:
            self._loaded = (cache, self._load(lastgood, env, secrets))
        return self._loaded[1]

    def _load(self, lastgood: LastKnownGood, env: Mapping[str, str], secrets: frozenset[str]) -> DesiredState | None:
        key = lastgood.store.hash_key if lastgood.store is not None else process_key
        decls = [load_bytes(lastgood.root, rel, data, env, secrets, confine=lastgood.confine,
                            build_allow=lastgood.build_allow, hash_key=key) for rel, data in self.approved.items()]
        state, problems = combine(decls)
        problems = (*(p for d in decls for p in d.errors), *problems)
        if problems:
            log.warning("approval.approved_invalid", reason="the files last approved no longer load; nothing is healed",
                        problems=[str(p) for p in problems])
            return None
        return state

    def key(self) -> bytes:
        return self.store.hash_key() if self.store is not None else process_key()

    def changed_outside(self, approved: DesiredState) -> dict[str, str]:
        """"kind/name" -> why, for each spec of `approved` that is not the one approved: the env
        file or the environment changed it since."""
        key = self.key()
        return {spec.key: "waits for approval: its spec changed outside the files (the env file or the environment) "
                          "since it was approved"
                for spec in approved.specs() if self.sealed.get(spec.key, sealed(spec, key)) != sealed(spec, key)}

    def accept(self, files: Mapping[str, bytes], desired: DesiredState, now: float) -> None:
        """`files`, read as `desired`, are the approved ones from now on; no plan waits, none is rejected."""
        key = self.key()
        specs = {spec.key: sealed(spec, key) for spec in desired.specs()}
        if self.approved != dict(files) or self.sealed != specs:
            self.approved, self.approved_at, self.sealed = dict(files), now, specs
            log.info("approval.files_approved", files=sorted(files))
        self.pending = self.rejected = None
        self._save()

    def hold(self, pending: dict[str, Any]) -> bool:
        """`pending` ({"id", "plan", "revision", "since", "files"}) waits; True when it is a new
        plan (another id than the one waiting). Its `since` is kept while the id is the same."""
        new = self.pending is None or self.pending["id"] != pending["id"]
        self.pending = pending if new else {**pending, "since": self.pending["since"]}
        self._save()
        return new

    def reject(self) -> None:
        """The plan waiting is dropped until the files change (see `files_key`)."""
        assert self.pending is not None
        self.rejected = {"id": self.pending["id"], "files": self.pending["files"]}
        self.pending = None
        self._save()

    def holds_rejected(self, key: str) -> bool:
        """Whether a plan made from the files `key` stays rejected; a rejection of other files is dropped."""
        if self.rejected is not None and self.rejected["files"] != key:
            self.rejected = None
            self._save()
        return self.rejected is not None

    def _save(self) -> None:
        if self.store is None:
            return
        approved = ({"files": {rel: data.decode() for rel, data in sorted(self.approved.items())},
                     "specs": self.sealed, "at": self.approved_at} if self.approved is not None else None)
        record = {"approved": approved, "pending": self.pending, "rejected": self.rejected}
        try:
            self.store.save_approvals({k: v for k, v in record.items() if v is not None})
        except OSError as error:
            log.warning("approvals.save_failed", directory=str(self.store.path), error=str(error))


@dataclass(frozen=True)
class Turn:
    """One gated pass: `report` (what ran, and as what remains, the plan of the files), the
    pending plan that is new in this pass (to notify), if any, and the desired state the pass
    converged towards (`ran`: the files approved, when a heal ran towards them while an edit
    waits; None: the files), whose containers the last-applied records are of."""

    report: PassReport
    waiting: dict[str, Any] | None = None
    ran: DesiredState | None = None


def gated(gate: Gate, desired: DesiredState, approved: DesiredState | None, asks: Iterable[Request],
          run: Callable[[DesiredState, Mapping[str, str]], PassReport], look: Callable[[DesiredState], PassReport],
          files: Mapping[str, bytes], revision: str | None, now: float) -> Turn:
    """One pass of an agent with approvals (see the module): `run` converges towards a desired
    state, holding back the keys it is given ("kind/name" -> why), `look` plans one and changes
    nothing; `files` are the files in force (relative path -> bytes) that `desired` was read from;
    `now` is unix time. Sets each ask's `outcome`."""
    asks = list(asks)
    key = files_key(files, revision)
    approves = [r for r in asks if r.kind == APPROVE]
    if approves:
        fresh = look(desired)
        fresh_id = plan_id(key, desired, fresh.observed, plan_data(fresh.remaining))
        if any(r.plan_id == fresh_id for r in approves):
            done = run(desired, {})
            gate.accept(files, desired, now)
            log.info("approval.applied", id=fresh_id, result="converged" if done.converged else "not converged")
            _answer(asks, fresh_id, None, applied=True)
            return Turn(done)
    healed = run(approved, gate.changed_outside(approved)) if gate.mode == CHANGES and approved is not None else None
    fresh = look(desired)
    plan = plan_data(fresh.remaining)
    fresh_id = plan_id(key, desired, fresh.observed, plan)
    waiting = None
    if not waits(fresh.remaining):
        gate.accept(files, desired, now)
    elif not gate.holds_rejected(key):
        if gate.hold({"id": fresh_id, "plan": plan, "revision": revision, "since": iso(now), "files": key}):
            waiting = gate.shown()
        for request in asks:
            if request.kind == REJECT and request.plan_id == fresh_id:
                gate.reject()
                log.info("approval.rejected", id=fresh_id)
    _answer(asks, fresh_id, gate.shown(), applied=False)
    report = fresh if healed is None else PassReport(
        healed.plan, healed.results, fresh.remaining, {**fresh.completed, **healed.completed}, healed.followed,
        fresh.image_volumes, fresh.observed, healed.adopted)
    return Turn(report, waiting, approved if healed is not None else None)


def _answer(asks: list[Request], fresh_id: str, pending: dict[str, Any] | None, applied: bool) -> None:
    """Each approve's and reject's outcome: done when it named `fresh_id` (the plan this pass made)."""
    for request in asks:
        if request.plan_id != fresh_id:
            what = f"plan {fresh_id} waits" if pending else "no plan waits"
            request.outcome = Outcome(False, f"plan {request.plan_id} is not the plan the files and the engine "
                                             f"give now ({what}): look at it and approve that one", pending)
        elif request.kind == APPROVE and applied:
            request.outcome = Outcome(True, f"plan {fresh_id} approved and applied", None)
        elif request.kind == APPROVE:
            request.outcome = Outcome(False, f"plan {fresh_id} holds nothing to approve", pending)
        else:
            request.outcome = Outcome(True, f"plan {fresh_id} rejected: nothing waits until the files change",
                                      pending)
