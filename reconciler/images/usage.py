"""The images this namespace pulled or built, recorded after each pass, and the retention step.

After every pass (the agent's and `apply`'s), `Usage.after_pass` records the images the pass
pulled or built and refreshes the last use of those this namespace's containers run, in the state
directory's `image-usage.json`, and the images it pushed in `pushed.json` (see `images.pushes`).
With a retention (`reconciler run --image-retention N`), a pass in which a container was replaced
or removed is followed by the removal of what `retention.to_remove` names, one engine call each,
through the runtime: never forced, so the engine itself refuses an image a container took up
meanwhile. A failure here is logged and never fails the pass.
"""

from __future__ import annotations

import time

import structlog

from reconciler.agent.statedir import StateDir, StateDirError
from reconciler.changes import ChangeKind
from reconciler.converge import PassReport
from reconciler.images import pushes, retention
from reconciler.images.retention import ImageUse
from reconciler.tasks import Step
from runtime.base import Conflict, EngineError, NotFound, Runtime

log = structlog.get_logger("reconciler.images")

FREEING = (ChangeKind.RECREATE, ChangeKind.REMOVE)  # container changes that may leave an image unused


def pulled(report: PassReport) -> dict[str, str]:
    """Reference -> image id of each image a pass pulled (its pull task succeeded and the
    engine, observed after it, has the reference)."""
    refs = {r.task.change.name for r in report.results
            if r.ok and r.task.change.resource == "image" and any(a.step is Step.PULL for a in r.task.steps)}
    return {ref: report.observed.images[ref] for ref in sorted(refs) if ref in report.observed.images}


def built(report: PassReport) -> dict[str, str]:
    """Reference (the container's `image`) -> image id of each image a pass built: its
    container's task succeeded with a build step, and the engine, observed after it, has it."""
    refs = {a.target for r in report.results if r.ok for a in r.task.steps if a.step is Step.BUILD}
    return {ref: report.observed.images[ref] for ref in sorted(refs) if ref in report.observed.images}


def freed(report: PassReport) -> bool:
    """Whether a container was replaced or removed in the pass, so an image may be unused now."""
    return any(r.ok and r.task.change.resource == "container" and r.task.change.kind in FREEING
               for r in report.results)


class Usage:
    """The image usage record of one state directory (None: nothing is recorded, nothing removed)
    and the number of unused images to keep per repository (`keep`, None: retention off)."""

    def __init__(self, state_dir: StateDir | None, keep: int | None = None,
                 clock=time.time) -> None:
        self.state_dir = state_dir
        self.keep = keep
        self.clock = clock
        self.pushes: dict[str, str] = {}  # image reference -> image id pushed, by this process

    def pushed(self) -> dict[str, str]:
        """Image reference -> the image id last pushed there (`PlanOptions.pushed`): the state
        directory's push records, and the pushes of this process. An unreadable record is logged
        and counts as none (the image is pushed again)."""
        try:
            records = self.state_dir.pushed() if self.state_dir is not None else {}
        except (StateDirError, OSError) as error:
            log.warning("image.push_records_unreadable", error=str(error))
            records = {}
        return {**pushes.recorded(records), **self.pushes}

    def after_pass(self, report: PassReport, runtime: Runtime) -> None:
        """Record the pass's pulls, builds and pushes, refresh what is in use, and, with a retention, remove the
        images it names once a container was replaced or removed. Never raises for the engine
        or the state directory: those failures are logged."""
        done = pushes.pushed(report.results, report.observed)
        self.pushes.update(done)
        if self.state_dir is None:
            return
        try:
            uses = self._read()
            now = self.clock()
            if done:
                records = self.state_dir.pushed()
                self.state_dir.save_pushed({**records, **{ref: {"image_id": id, "pushed_at": now}
                                                         for ref, id in done.items()}})
            for ref, id in pulled(report).items():
                uses = retention.recorded(uses, ref, id, retention.PULLED, now)
            for ref, id in built(report).items():
                uses = retention.recorded(uses, ref, id, retention.BUILT, now)
            uses = retention.refreshed(uses, {c.image_id for c in report.observed.containers}, now)
            if self.keep is not None and freed(report):
                uses = self._remove(uses, runtime)
            self.state_dir.save_image_usage(retention.as_records(uses))
        except (StateDirError, OSError) as error:
            log.warning("image.usage_not_saved", directory=str(self.state_dir.path), error=str(error))

    def record(self, ref: str, id: str, how: str) -> None:
        """Record image `id`, just pulled or built as `ref` (`how`: pulled | built), now.
        Raises StateDirError or OSError when the record cannot be read or written."""
        if self.state_dir is None:
            return
        uses = retention.recorded(self._read(), ref, id, how, self.clock())
        self.state_dir.save_image_usage(retention.as_records(uses))

    def _read(self) -> tuple[ImageUse, ...]:
        assert self.state_dir is not None
        records = self.state_dir.image_usage()
        try:
            return retention.from_records(records)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise StateDirError(f"{self.state_dir.path}: not an image usage record: {error!r}") from None

    def _remove(self, uses: tuple[ImageUse, ...], runtime: Runtime) -> tuple[ImageUse, ...]:
        """`uses` without the images removed (or found gone); each removal logged."""
        assert self.keep is not None
        try:
            in_use = runtime.images_in_use()
        except EngineError as error:
            log.warning("image.retention_failed", error=str(error))
            return uses
        gone = []
        for use in retention.to_remove(uses, in_use, self.keep):
            try:
                size = runtime.remove_image(use.id, use.repository)
            except NotFound:
                gone.append(use.id)
                continue
            except Conflict as error:
                log.warning("image.kept", ref=use.ref, id=use.id, reason=str(error))
                continue
            except EngineError as error:
                log.warning("image.remove_failed", ref=use.ref, id=use.id, error=str(error))
                continue
            gone.append(use.id)
            log.info("image.removed", ref=use.ref, id=use.id, bytes=size, how=use.how)
        return retention.forgotten(uses, gone)
