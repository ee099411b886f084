"""State lives in the cluster: a controller killed during a timed pause resumes the same rollout, and the pause
ends at its recorded start time plus its duration, not later."""

from __future__ import annotations

import datetime

from tests.support import kube
from tests.support import rollouts as ro

PAUSE_SECONDS = 15


def _parse(stamp: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def test_killed_during_a_pause_the_rollout_still_completes_on_time(
    controller: kube.Controller, namespace: str
) -> None:
    steps = [{"setWeight": 50}, {"pause": {"duration": f"{PAUSE_SECONDS}s"}}, {"setWeight": 75}]
    ro.create(ro.rollout_manifest("steady", replicas=4, steps=steps), namespace=namespace)
    ro.wait_phase("steady", "Healthy", namespace=namespace)
    ro.set_image("steady", "nginx:2.0", namespace=namespace)
    paused = ro.wait_phase("steady", "Paused", namespace=namespace)
    started = _parse(paused["status"]["pauseConditions"][0]["startTime"])

    controller.kill()  # SIGKILL: no chance to save anything
    dead_until = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=5)
    while datetime.datetime.now(datetime.UTC) < dead_until:
        assert ro.status("steady", namespace=namespace)["currentStepIndex"] == 1
    controller.start()

    # Past the pause, the last setWeight completes within a second, so look for "beyond step 1", not exactly 2.
    moved = kube.wait_for(
        lambda: (s := ro.status("steady", namespace=namespace)).get("currentStepIndex", 0) >= 2 and s,
        timeout=PAUSE_SECONDS + 30,
        interval=0.1,
        what="the step after the pause",
    )
    resumed_at = datetime.datetime.now(datetime.UTC)
    ends = started + datetime.timedelta(seconds=PAUSE_SECONDS)
    assert resumed_at >= ends
    # The pause ended on schedule (1 s stamp precision, plus polling and start-up of the new process).
    assert (resumed_at - ends).total_seconds() < 6, (started, resumed_at)
    assert not moved.get("pauseConditions")
    assert (
        ro.wait_phase("steady", "Healthy", namespace=namespace)["status"]["stableRS"]
        == moved["currentPodHash"]
    )
    assert controller.starts == 2
