"""Which moments make an event: revisions applied or failed, and an engine out of reach too long."""

from reconciler.agent.revisions import Revisions
from reconciler.agent.status import ResourceReport
from reconciler.fielddiff import FieldDiff
from reconciler.notify.events import CRASH_LOOP, DRIFT_FOUND, ENGINE_UNREACHABLE, REVISION_APPLIED, REVISION_FAILED
from reconciler.notify.moments import EngineWatch, entered, revision

A, B = "a" * 40, "b" * 40


def test_a_revision_newly_applied_is_told_with_its_subject():
    [event] = revision(Revisions(A, A, A), Revisions(B, B, B, {"web.toml": "applied"}), "Bump web")
    assert (event.kind, event.message, event.revision) == (REVISION_APPLIED, "revision bbbbbbbbbbbb (Bump web) applied",
                                                           "bbbbbbbbbbbb")


def test_a_revision_attempted_with_an_invalid_file_is_told_as_failed():
    [event] = revision(Revisions(A, A, A), Revisions(B, B, A, {"web.toml": "invalid"}), "")
    assert (event.kind, event.message) == (REVISION_FAILED, "revision bbbbbbbbbbbb failed: web.toml: invalid")


def test_a_failed_revision_says_why_with_its_first_problems_at_file_and_line():
    why = ["g2.toml:3: container.web.image: required", "g2.toml:5: container.web.ports[0]: not a port",
           "g2.toml:7: container.web.cpus: not a number", "g2.toml:9: container.web.user: not a user"]
    [event] = revision(Revisions(A, A, A), Revisions(B, B, A, {"g2.toml": "invalid"}), "", why)
    assert event.message == ("revision bbbbbbbbbbbb failed: g2.toml: invalid (g2.toml:3: container.web.image: "
                             "required; g2.toml:5: container.web.ports[0]: not a port; g2.toml:7: container.web.cpus: "
                             "not a number; and 1 more)")


def test_revision_events_are_about_their_revision_so_the_rate_limit_keeps_revisions_apart():
    [applied] = revision(Revisions(A, A, A), Revisions(B, B, B, {"web.toml": "applied"}), "")
    [failed] = revision(Revisions(B, B, B), Revisions(A, A, B, {"web.toml": "invalid"}), "")
    assert (applied.about, failed.about) == ("bbbbbbbbbbbb", "aaaaaaaaaaaa")


def test_a_failed_revision_is_told_once_not_on_every_pass():
    failed = Revisions(B, B, A, {"web.toml": "failed"})
    assert revision(failed, failed, "") == []


def test_a_revision_still_pending_is_not_failed():
    assert revision(Revisions(A, A, A), Revisions(B, B, A, {"web.toml": "pending"}), "") == []


def test_a_crash_loop_entered_is_told_and_other_states_are_not():
    reports = [ResourceReport("container", "web", "crashloop", "exited 3 times"),
               ResourceReport("container", "db", "converged")]
    [event] = entered(reports, None)
    assert (event.kind, event.resource) == (CRASH_LOOP, "container/web")


def test_the_engine_is_told_unreachable_once_after_the_threshold():
    watch = EngineWatch(threshold=60)
    assert watch.unavailable(0, "unix:///x.sock", "refused") == []
    assert watch.unavailable(59, "unix:///x.sock", "refused") == []
    [event] = watch.unavailable(61, "unix:///x.sock", "refused")
    assert event.kind == ENGINE_UNREACHABLE and "61s" in event.message
    assert watch.unavailable(120, "unix:///x.sock", "refused") == []


def test_an_engine_that_answered_starts_a_new_outage():
    watch = EngineWatch(threshold=10)
    watch.unavailable(0, "e", "refused")
    watch.answered()
    assert watch.unavailable(11, "e", "refused") == []
    assert len(watch.unavailable(22, "e", "refused")) == 1


def test_a_drift_found_is_told_with_what_drifted():
    [event] = entered([ResourceReport("container", "web", "drifted", "stopped by hand")], "abc")
    assert (event.kind, event.resource, event.revision) == (DRIFT_FOUND, "container/web", "abc")
    assert event.message == 'container web drifted, left as is (drift = "alert"): stopped by hand'


def test_a_drift_found_is_told_with_its_values():
    mode = FieldDiff("env.MODE", "hand", "a")
    [event] = entered([ResourceReport("container", "web", "drifted", "changed out of band: env.MODE", (mode,))],
                      None)
    assert event.message == ('container web drifted, left as is (drift = "alert"): changed out of band: env.MODE '
                             '(env.MODE: "hand" -> "a")')


