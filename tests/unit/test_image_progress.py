"""Pull and push progress: the engine's stream read as updates, summed per image, shown on a terminal
(one line per image rewritten in place) or as plain lines, and logged by the agent. The streams are
recorded from real pulls off a local registry (tests/unit/golden/*-pull-stream.jsonl: Docker
20.10, and Podman 4.3, which says no byte counts) and a real push to one (docker-push-stream.jsonl:
Docker 20.10 pushing a built image of 3 layers, one of them mounted from the base's repository;
"Pushing" counts each layer's tar, 2048 bytes, against its content's size, 12 and 6 bytes)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

from structlog.testing import capture_logs

from reconciler.commands.progress import ProgressView
from reconciler.images.transfers import Transfer, human_size, logged_pull
from runtime.base import Progress
from runtime.docker_progress import progress

GOLDEN = Path(__file__).parent / "golden"
REF = "127.0.0.1:5599/rec/app:1"


def recorded(engine: str, ref: str = REF) -> list[Progress]:
    lines = (GOLDEN / f"{engine}-pull-stream.jsonl").read_text().splitlines()
    return [update for line in lines if (update := progress(ref, json.loads(line))) is not None]


def screen(output: str) -> list[str]:
    """The lines a terminal shows after `output` (cursor up/down, erase line, carriage return)."""
    rows, row, col = [""], 0, 0
    for token in re.findall(r"\x1b\[\d*[ABK]|\r|\n|[^\x1b\r\n]+", output):
        if token == "\n":
            row, col = row + 1, 0
        elif token == "\r":
            col = 0
        elif token.startswith("\x1b") and token.endswith("A"):
            row -= int(token[2:-1])
        elif token.startswith("\x1b") and token.endswith("B"):
            row += int(token[2:-1])
        elif token.startswith("\x1b"):
            rows[row] = ""
        else:
            rows[row] = rows[row][:col] + token
            col += len(token)
        rows.extend([""] * (row + 1 - len(rows)))
    return [r for r in rows if r]


def test_a_line_naming_a_tag_is_about_the_whole_image_and_a_layer_status_about_its_layer():
    assert progress(REF, {"status": "Pulling from rec/app", "id": "1"}) == Progress(REF, "", "Pulling from rec/app")
    downloading = {"status": "Downloading", "progressDetail": {"current": 5, "total": 9}, "id": "3d0d6f149044"}
    assert progress(REF, downloading) == Progress(REF, "3d0d6f149044", "Downloading", 5, 9)
    assert progress(REF, {"progressDetail": {}}) is None


def test_a_docker_pull_sums_up_to_its_layers_and_the_bytes_downloaded():
    transfer = Transfer("pull", REF)
    for update in recorded("docker"):
        transfer.update(update)
    assert (transfer.layers_through, len(transfer.layers)) == (3, 3)
    assert transfer.bytes_moved == transfer.bytes_total == 2000814 + 1500644
    assert transfer.summary() == f"pull {REF}: 3/3 layers, 3.5MB/3.5MB"


def test_a_layer_the_engine_had_counts_as_through_and_for_no_bytes():
    transfer = Transfer("pull", REF)
    transfer.update(Progress(REF, "b7e6ac910a41", "Already exists"))
    assert transfer.summary() == f"pull {REF}: 1/1 layers, 0B/0B"


def test_a_podman_pull_counts_layers_without_byte_counts():
    transfer = Transfer("pull", REF)
    for update in recorded("podman"):
        transfer.update(update)
    assert (transfer.layers_through, len(transfer.layers)) == (4, 4)
    assert transfer.summary() == f"pull {REF}: 4/4 layers, 0B"


def test_sizes_are_shown_as_dockers_cli_shows_them():
    assert [human_size(n) for n in (0, 512, 1234, 45_600_000, 999_999, 3_000_000_000)] == [
        "0B", "512B", "1.23kB", "45.6MB", "1MB", "3GB"]


def plain(updates: list[Progress]) -> str:
    """What a ProgressView writes for `updates` when not on a terminal."""
    out = io.StringIO()
    view = ProgressView(out, terminal=False)
    for update in updates:
        view(update)
    return out.getvalue()


def test_plain_output_is_a_line_per_state_change_never_one_per_chunk():
    lines = plain(recorded("docker")).splitlines()
    assert "\x1b" not in plain(recorded("docker"))
    downloading = sum(u.status in ("Downloading", "Extracting") for u in recorded("docker"))
    assert len(lines) < len(recorded("docker")) - downloading + 1
    assert lines[0] == f"pull {REF}: Pulling from rec/app"
    assert lines[-1] == f"pull {REF}: 3/3 layers, 3.5MB/3.5MB"
    assert len(lines) == len(set(lines))


def test_a_terminal_keeps_one_line_per_image_updated_in_place():
    out = io.StringIO()
    view = ProgressView(out, terminal=True)
    other = "127.0.0.1:5599/rec/db:2"
    for mine, theirs in zip(recorded("docker"), recorded("docker", other), strict=True):
        view(mine)
        view(theirs)
    assert "\x1b[2A" in out.getvalue()
    assert screen(out.getvalue()) == [f"pull {REF}: 3/3 layers, 3.5MB/3.5MB",
                                      f"pull {other}: 3/3 layers, 3.5MB/3.5MB"]


def test_a_terminal_line_is_rewritten_only_when_it_changes():
    out = io.StringIO()
    view = ProgressView(out, terminal=True)
    view(Progress(REF, "", "Pulling from rec/app"))
    written = out.getvalue()
    view(Progress(REF, "", "Pulling from rec/app"))
    assert out.getvalue() == written


def test_builds_and_pushes_get_lines_of_their_own():
    out = io.StringIO()
    view = ProgressView(out, terminal=False)
    view(Progress(REF, "", "Step 1/2 : FROM localhost/demo:1", action="build"))
    view(Progress(REF, "3d0d6f149044", "Pushed", action="push"))
    assert out.getvalue().splitlines() == [f"build {REF}: Step 1/2 : FROM localhost/demo:1",
                                           f"push {REF}: 1/1 layers, 0B"]


def test_the_agent_logs_a_pulls_start_and_end_with_its_bytes_layers_and_seconds():
    seen = []
    with capture_logs() as logs, logged_pull(REF, seen.append) as tally:
        for update in recorded("docker"):
            tally(update)
    assert [entry["event"] for entry in logs] == ["image.pull_started", "image.pull_finished"]
    pulled = logs[1]
    assert (pulled["ref"], pulled["bytes"], pulled["layers"]) == (REF, 2000814 + 1500644, 3)
    assert pulled["seconds"] >= 0
    assert seen == recorded("docker")


def test_a_failed_pull_is_not_logged_as_pulled():
    with capture_logs() as logs:
        try:
            with logged_pull(REF):
                raise RuntimeError("unauthorized")
        except RuntimeError:
            pass
    assert [entry["event"] for entry in logs] == ["image.pull_started"]


def pushed(engine: str) -> list[Progress]:
    lines = (GOLDEN / f"{engine}-push-stream.jsonl").read_text().splitlines()
    return [update for line in lines if (update := progress(REF, json.loads(line), "push")) is not None]


def test_a_docker_push_counts_layers_and_bytes_that_never_go_down_up_to_every_layer():
    transfer, seen = Transfer("push", REF), []
    for update in pushed("docker"):
        transfer.update(update)
        seen.append((transfer.layers_through, transfer.bytes_moved))
    assert [n for n, _ in seen] == sorted(n for n, _ in seen)
    assert [b for _, b in seen] == sorted(b for _, b in seen)
    assert transfer.layers_through == len(transfer.layers) == 3
    assert transfer.bytes_moved == transfer.bytes_total == 2048 + 2048  # the two tars; the third layer mounted


def test_plain_push_output_ends_with_every_layer_through():
    lines = plain(pushed("docker")).splitlines()
    assert lines[-1] == f"push {REF}: 3/3 layers, 4.1kB/4.1kB"
    counts = [int(line.split(": ", 1)[1].split("/")[0]) for line in lines if " layers, " in line]
    assert counts == sorted(counts)


def test_a_layer_mounted_from_another_repository_is_through_and_moves_no_bytes():
    transfer = Transfer("push", REF)
    transfer.update(progress(REF, {"status": "Preparing", "progressDetail": {}, "id": "3d0d6f149044"}, "push"))
    transfer.update(progress(REF, {"status": "Mounted from rec/base", "progressDetail": {}, "id": "3d0d6f149044"},
                             "push"))
    assert transfer.summary() == f"push {REF}: 1/1 layers, 0B/0B"


def test_a_pushing_layer_whose_bytes_outgrow_its_total_counts_what_moved():
    transfer = Transfer("push", REF)
    transfer.update(Progress(REF, "3d0d6f149044", "Pushing", 2048, 12, action="push"))
    transfer.update(Progress(REF, "3d0d6f149044", "Pushed", action="push"))
    assert transfer.summary() == f"push {REF}: 1/1 layers, 2.05kB/2.05kB"


def test_a_pushs_digest_line_puts_every_layer_through():
    transfer = Transfer("push", REF)
    transfer.update(Progress(REF, "3d0d6f149044", "Waiting", action="push"))
    assert transfer.update(Progress(REF, "", "1: digest: sha256:" + "a" * 64 + " size: 527", action="push"))
    assert transfer.summary() == f"push {REF}: 1/1 layers, 0B"
