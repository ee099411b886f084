"""Rollout commands: get, list, status, promote, abort, retry, pause, restart, undo, set image.

Every write has the shape Argo's kubectl plugin sends, so `rollwave`, `kubectl argo rollouts` and Argo CD's
resource actions can take turns on the same Rollout:

    promote          spec  {"paused": false}           (only when paused)
                     status {"pauseConditions": null}   when paused at a step, or
                     status {"pauseConditions": null, "currentStepIndex": i+1}   mid-step (e.g. analysis), or
                     status {"pauseConditions": null, "controllerPause": false, "currentStepIndex": i+1}
                                                        when paused for an inconclusive step analysis
    promote --full   status {"promoteFull": true}       (unless already stable) + spec unpause
    abort / retry    status {"abort": true} / {"abort": false}
    pause            spec  {"paused": true}
    restart          spec  {"restartAt": "<RFC 3339, now + --in>"}
    undo             JSON patch: replace /spec/template with the template of the revision's ReplicaSet
    set image        JSON patch: test each container's name, then set its image

Status patches are merge patches on the status subresource. The pure parts (which patch, which template) are
plain functions of the objects read, and are what the unit tests exercise.

Exit codes: 0 done; 1 an API or usage error; 2 the Rollout does not exist. `status` also returns 1 when the
Rollout is Degraded and 2 on timeout, for CI pipelines.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import datetime
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TextIO

from rollouts.cli import tree
from rollouts.core import hashing
from rollouts.kube import client, errors, replicasets, rollout_actions
from rollouts.model import fields, workloads

HASH_LABEL = workloads.POD_TEMPLATE_HASH_LABEL
POLL_INTERVAL_SECONDS = 1.0
CLEAR_SCREEN = "\x1b[H\x1b[2J"
SET_IMAGE_ATTEMPTS = 5
EXIT_OK, EXIT_ERROR, EXIT_MISSING = 0, 1, 2
EXIT_INTERRUPTED = 130


class CommandError(Exception):
    """A command that cannot be carried out; `message` is printed as is, `code` is the exit code."""

    def __init__(self, message: str, *, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def not_found(name: str, namespace: str) -> CommandError:
    return CommandError(f'rollout "{name}" not found in namespace "{namespace}"', code=EXIT_MISSING)


def _mapping(raw: object) -> Mapping[str, Any]:
    return raw if isinstance(raw, Mapping) else {}


# ---------------------------------------------------------------------------------------------------------------
# Pure: which patch to send


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Patches:
    """Merge patches for one command: `status` goes to the status subresource, `spec` to the Rollout."""

    status: dict[str, Any] | None = None
    spec: dict[str, Any] | None = None


def _current_step_index(rollout: Mapping[str, Any]) -> tuple[int, int] | None:
    """(current step index, number of steps) for a canary with steps; None otherwise. An unset index is 0."""
    canary = _mapping(_mapping(_mapping(rollout.get("spec")).get("strategy")).get("canary"))
    steps = canary.get("steps") or []
    if not canary or not steps:
        return None
    index = _mapping(rollout.get("status")).get("currentStepIndex")
    return (index if isinstance(index, int) else 0), len(steps)


def _is_inconclusive(rollout: Mapping[str, Any]) -> bool:
    canary_status = _mapping(_mapping(rollout.get("status")).get("canary"))
    run = _mapping(canary_status.get("currentStepAnalysisRunStatus"))
    return run.get("status") == "Inconclusive"


def promote_patches(rollout: Mapping[str, Any], *, full: bool) -> Patches:
    """Argo's promote: unpause, then clear the pause conditions or, mid-step, move to the next step.

    >>> promote_patches({"spec": {"strategy": {"canary": {"steps": [{"pause": {}}]}}},
    ...     "status": {"pauseConditions": [{"reason": "CanaryPauseStep"}], "currentStepIndex": 0}}, full=False)
    Patches(status={'status': {'pauseConditions': None}}, spec=None)
    >>> promote_patches({"spec": {"strategy": {"canary": {"steps": [{"analysis": {}}, {"pause": {}}]}}},
    ...     "status": {"currentStepIndex": 0}}, full=False).status
    {'status': {'pauseConditions': None, 'currentStepIndex': 1}}
    """
    spec = _mapping(rollout.get("spec"))
    status = _mapping(rollout.get("status"))
    unpause = {"spec": {"paused": False}} if spec.get("paused") else None
    if full:
        if status.get("currentPodHash") and status.get("currentPodHash") == status.get("stableRS"):
            return Patches(status=None, spec=unpause)  # already fully promoted
        return Patches(status={"status": {"promoteFull": True}}, spec=unpause)
    step = _current_step_index(rollout)
    paused_by_conditions = bool(status.get("pauseConditions"))
    if (
        step is not None
        and _is_inconclusive(rollout)
        and paused_by_conditions
        and status.get("controllerPause")
    ):
        # Clearing the conditions alone would leave the controller pausing for the same run again.
        index, count = step
        return Patches(
            status={
                "status": {
                    "pauseConditions": None,
                    "controllerPause": False,
                    "currentStepIndex": min(index + 1, count),
                }
            },
            spec=unpause,
        )
    if paused_by_conditions:
        return Patches(status={"status": {"pauseConditions": None}}, spec=unpause)
    if step is not None:
        # Not paused at a step: promote means "this step is done" (e.g. skip a running analysis).
        index, count = step
        return Patches(
            status={"status": {"pauseConditions": None, "currentStepIndex": min(index + 1, count)}},
            spec=unpause,
        )
    return Patches(status=None, spec=unpause)


def restart_at(now: datetime.datetime, *, delay: datetime.timedelta = datetime.timedelta(0)) -> str:
    """The `spec.restartAt` value: RFC 3339 in UTC at second precision.

    >>> restart_at(datetime.datetime(2026, 1, 1, 23, 59, 45, 500, tzinfo=datetime.UTC),
    ...     delay=datetime.timedelta(seconds=30))
    '2026-01-02T00:00:15Z'
    """
    return fields.format_timestamp(now + delay)


def restart_patch(
    now: datetime.datetime, *, delay: datetime.timedelta = datetime.timedelta(0)
) -> dict[str, Any]:
    return {"spec": {"restartAt": restart_at(now, delay=delay)}}


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class UndoPlan:
    revision: int
    replica_set: str
    template: dict[str, Any]  # the ReplicaSet's pod template without the pod-template-hash label
    already_current: bool  # the Rollout's template already matches: nothing to send


def _is_derivative(wanted: object, actual: object) -> bool:
    """Whether everything set in `wanted` equals `actual` (unset and empty values in `wanted` are not compared).

    This is the comparison Argo's undo uses to skip a no-op: the ReplicaSet's template carries defaults the
    API server filled in, which the Rollout's template does not spell out.
    >>> _is_derivative({"image": "a", "env": []}, {"image": "a", "imagePullPolicy": "Always"})
    True
    >>> _is_derivative({"image": "a"}, {"image": "b"})
    False
    """
    if wanted is None or wanted == "" or wanted == {} or wanted == []:
        return True
    if isinstance(wanted, Mapping):
        if not isinstance(actual, Mapping):
            return False
        return all(_is_derivative(value, actual.get(key)) for key, value in wanted.items())
    if isinstance(wanted, list):
        if not isinstance(actual, list) or len(wanted) != len(actual):
            return False
        return all(_is_derivative(mine, theirs) for mine, theirs in zip(wanted, actual, strict=True))
    return wanted == actual


def _without_hash_label(template: Mapping[str, Any]) -> dict[str, Any]:
    cleaned = copy.deepcopy(dict(template))
    metadata = dict(_mapping(cleaned.get("metadata")))
    labels = {key: value for key, value in _mapping(metadata.get("labels")).items() if key != HASH_LABEL}
    if labels:
        metadata["labels"] = labels
    else:
        metadata.pop("labels", None)
    cleaned["metadata"] = metadata
    return cleaned


# Fields the API server fills in when it stores a ReplicaSet's pod template, with the value it fills in.
_POD_SPEC_DEFAULTS: Mapping[str, object] = {
    "restartPolicy": "Always",
    "dnsPolicy": "ClusterFirst",
    "schedulerName": "default-scheduler",
    "securityContext": {},
    "terminationGracePeriodSeconds": 30,
}
_CONTAINER_DEFAULTS: Mapping[str, object] = {
    "terminationMessagePath": "/dev/termination-log",
    "terminationMessagePolicy": "File",
    "resources": {},
}
_PROBE_DEFAULTS: Mapping[str, object] = {
    "timeoutSeconds": 1,
    "periodSeconds": 10,
    "successThreshold": 1,
    "failureThreshold": 3,
}
_VOLUME_SOURCES_WITH_DEFAULT_MODE = ("configMap", "secret", "downwardAPI", "projected")
_DEFAULT_FILE_MODE = 420  # 0644


def _drop_defaults(target: dict[str, Any], defaults: Mapping[str, object]) -> None:
    for key, value in defaults.items():
        if key in target and target[key] == value:
            del target[key]


def _default_pull_policy(image: object) -> str:
    """Always for `:latest` or an untagged image, else IfNotPresent (the API server's defaulting rule)."""
    text = str(image or "")
    if "@" in text:
        return "IfNotPresent"
    name = text.rsplit("/", 1)[-1]
    tag = name.partition(":")[2]
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def strip_server_defaults(template: Mapping[str, Any]) -> dict[str, Any]:
    """The pod template without the fields the API server defaulted (only where the value IS the default).

    >>> strip_server_defaults({"spec": {"dnsPolicy": "ClusterFirst", "containers": [
    ...     {"name": "app", "image": "nginx:1.25", "imagePullPolicy": "IfNotPresent", "resources": {}}]}})
    {'spec': {'containers': [{'name': 'app', 'image': 'nginx:1.25'}]}}
    """
    stripped = copy.deepcopy(dict(template))
    metadata = stripped.get("metadata")
    if isinstance(metadata, dict) and metadata.get("creationTimestamp", 0) is None:
        del metadata["creationTimestamp"]
    pod_spec = stripped.get("spec")
    if not isinstance(pod_spec, dict):
        return stripped
    _drop_defaults(pod_spec, _POD_SPEC_DEFAULTS)
    for key in CONTAINER_LISTS:
        for container in pod_spec.get(key) or ():
            if not isinstance(container, dict):
                continue
            _drop_defaults(
                container,
                {**_CONTAINER_DEFAULTS, "imagePullPolicy": _default_pull_policy(container.get("image"))},
            )
            for port in container.get("ports") or ():
                if isinstance(port, dict):
                    _drop_defaults(port, {"protocol": "TCP"})
            for probe_key in ("livenessProbe", "readinessProbe", "startupProbe"):
                probe = container.get(probe_key)
                if isinstance(probe, dict):
                    _drop_defaults(probe, _PROBE_DEFAULTS)
                    if isinstance(probe.get("httpGet"), dict):
                        _drop_defaults(probe["httpGet"], {"scheme": "HTTP"})
            for variable in container.get("env") or ():
                field_ref = _mapping(_mapping(variable).get("valueFrom")).get("fieldRef")
                if isinstance(field_ref, dict):
                    _drop_defaults(field_ref, {"apiVersion": "v1"})
    for volume in pod_spec.get("volumes") or ():
        for source in _VOLUME_SOURCES_WITH_DEFAULT_MODE:
            settings = _mapping(volume).get(source)
            if isinstance(settings, dict):
                _drop_defaults(settings, {"defaultMode": _DEFAULT_FILE_MODE})
    return stripped


def restored_template(
    replica_set_template: Mapping[str, Any], *, pod_template_hash: str | None, collision_count: object
) -> dict[str, Any]:
    """The pod template to put back into the Rollout for a revision.

    Argo's undo copies the ReplicaSet's template as stored, API-server defaults included. When the template
    without those defaults hashes to the ReplicaSet's own pod-template hash, it is exactly the template the
    Rollout had at that revision, and that is what is restored: the controller then finds the revision's
    ReplicaSet again instead of starting a new one. Otherwise (e.g. a ReplicaSet made by Argo, whose hashes
    differ) the stored template is used, as Argo does. The hash label is removed either way.
    """
    stored = _without_hash_label(replica_set_template)
    original = strip_server_defaults(stored)
    counts = [collision_count if isinstance(collision_count, int) else None]
    if counts[0] is not None:
        counts.append(None)
    if pod_template_hash and any(
        hashing.pod_template_hash(original, collision_count=count) == pod_template_hash for count in counts
    ):
        return original
    return stored


def undo_plan(
    rollout: Mapping[str, Any], replica_sets: Sequence[Mapping[str, Any]], *, to_revision: int | None
) -> UndoPlan:
    """The template to go back to: revision `to_revision`, or the highest revision below the current one.

    The current revision is the one whose ReplicaSet runs `status.currentPodHash` (the highest known revision
    when that ReplicaSet does not exist yet). Raises CommandError when there is no such revision.
    """
    name = str(_mapping(rollout.get("metadata")).get("name") or "")
    views = [(workloads.ReplicaSetView.from_dict(raw), raw) for raw in replica_sets]
    numbered = sorted(
        ((view.revision, view) for view, _ in views if view.revision is not None), key=lambda p: p[0]
    )
    known = ", ".join(str(revision) for revision, _ in numbered) or "none"
    chosen: workloads.ReplicaSetView | None
    if to_revision is not None:
        chosen = next((view for revision, view in numbered if revision == to_revision), None)
        if chosen is None:
            raise CommandError(
                f'unable to find revision {to_revision} of rollout "{name}" (known revisions: {known})'
            )
    else:
        current_hash = _mapping(rollout.get("status")).get("currentPodHash")
        current = next(
            (revision for revision, view in numbered if view.pod_template_hash == current_hash), None
        )
        if current is None:
            current = numbered[-1][0] if numbered else 0
        older = [view for revision, view in numbered if revision < current]
        if not older:
            raise CommandError(
                f'no revision of rollout "{name}" before {current} to go back to (known revisions: {known})'
            )
        chosen = older[-1]
    template = restored_template(
        chosen.template,
        pod_template_hash=chosen.pod_template_hash,
        collision_count=_mapping(rollout.get("status")).get("collisionCount"),
    )
    current_template = _without_hash_label(_mapping(_mapping(rollout.get("spec")).get("template")))
    assert chosen.revision is not None
    return UndoPlan(
        revision=chosen.revision,
        replica_set=chosen.name,
        template=template,
        already_current=_is_derivative(current_template, template),
    )


def undo_operations(plan: UndoPlan) -> list[dict[str, Any]]:
    """Argo's undo patch: one JSON patch operation replacing the whole template (a merge would keep stray fields)."""
    return [{"op": "replace", "path": "/spec/template", "value": plan.template}]


def parse_image_assignment(text: str) -> tuple[str, str]:
    """`CONTAINER=IMAGE` (`*` for every container).

    >>> parse_image_assignment("app=nginx:1.27")
    ('app', 'nginx:1.27')
    """
    container, separator, image = text.partition("=")
    if not separator or not container or not image:
        raise argparse.ArgumentTypeError(f"expected CONTAINER=IMAGE (got {text!r})")
    return container, image


CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def set_image_operations(
    rollout: Mapping[str, Any], assignments: Sequence[tuple[str, str]]
) -> list[dict[str, Any]]:
    """JSON patch operations setting the images; each guarded by a `test` of the container's name at that index,
    so a template reordered in between fails the patch instead of changing the wrong container.

    Later assignments win (`*=a app=b` gives `app` image b). Raises CommandError naming an unknown container.
    Containers whose image already matches get no operation.
    """
    pod_spec = _mapping(_mapping(_mapping(rollout.get("spec")).get("template")).get("spec"))
    name = str(_mapping(rollout.get("metadata")).get("name") or "")
    found = {container for container, _ in assignments if container == "*"}
    operations: list[dict[str, Any]] = []
    for key in CONTAINER_LISTS:
        for index, raw in enumerate(pod_spec.get(key) or ()):
            container = _mapping(raw)
            image = container.get("image")
            wanted = image
            for target, new_image in assignments:
                if target == "*" or target == container.get("name"):
                    found.add(target)
                    wanted = new_image
            if wanted != image:
                path = f"/spec/template/spec/{key}/{index}"
                operations.append({"op": "test", "path": f"{path}/name", "value": container.get("name")})
                operations.append({"op": "add", "path": f"{path}/image", "value": wanted})
    missing = [container for container, _ in assignments if container not in found]
    if missing:
        listed = ", ".join(f'"{container}"' for container in dict.fromkeys(missing))
        raise CommandError(f'unable to find container named {listed} in rollout "{name}"')
    return operations


def parse_duration_argument(text: str) -> datetime.timedelta:
    """`30s`, `5m`, `1h30m`, or whole seconds.

    >>> parse_duration_argument("5m")
    datetime.timedelta(seconds=300)
    """
    try:
        return fields.parse_duration(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"duration {err}") from None


# ---------------------------------------------------------------------------------------------------------------
# The command line


def _common_options() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "-n", "--namespace", help="the object's namespace (default: the kubeconfig context's, else default)"
    )
    options.add_argument(
        "--kubeconfig", help="path to the kubeconfig file (default: $KUBECONFIG, ~/.kube/config)"
    )
    return options


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class KindParsers:
    """The `get` and `list` kinds, for other command modules to add theirs (e.g. `get analysisrun`)."""

    get: Any
    listing: Any
    common: argparse.ArgumentParser


def register(commands: Any) -> KindParsers:
    common = _common_options()

    get = commands.add_parser("get", help="show a Rollout as a tree of revisions, or an AnalysisRun")
    get_kinds = get.add_subparsers(dest="kind", metavar="KIND", required=True)
    get_rollout = get_kinds.add_parser(
        "rollout",
        aliases=["ro", "rollouts"],
        parents=[common],
        help="a Rollout, its ReplicaSets and AnalysisRuns",
    )
    get_rollout.add_argument("name", metavar="NAME")
    get_rollout.add_argument("-w", "--watch", action="store_true", help="redraw on every change until Ctrl-C")
    get_rollout.add_argument(
        "--until-done",
        action="store_true",
        help="with --watch: stop (exit 0) once the Rollout is Healthy or Degraded",
    )
    get_rollout.set_defaults(run=run_get)

    listing = commands.add_parser("list", help="list Rollouts or AnalysisRuns")
    list_kinds = listing.add_subparsers(dest="kind", metavar="KIND", required=True)
    list_rollouts = list_kinds.add_parser(
        "rollouts", aliases=["rollout", "ro"], parents=[common], help="a table"
    )
    list_rollouts.add_argument(
        "-A", "--all-namespaces", action="store_true", help="Rollouts in every namespace"
    )
    list_rollouts.set_defaults(run=run_list)

    status = commands.add_parser(
        "status",
        parents=[common],
        help="wait for a Rollout: exit 0 Healthy, 1 Degraded, 2 timeout or not found",
    )
    status.add_argument("name", metavar="NAME")
    status.add_argument(
        "--watch", action=argparse.BooleanOptionalAction, default=True, help="wait for Healthy or Degraded"
    )
    status.add_argument(
        "-t",
        "--timeout",
        type=parse_duration_argument,
        help="give up after this long (e.g. 5m; default: never)",
    )
    status.set_defaults(run=run_status)

    promote = commands.add_parser("promote", parents=[common], help="go on past the current pause or step")
    promote.add_argument("name", metavar="NAME")
    promote.add_argument("--full", action="store_true", help="skip all remaining steps and analysis")
    promote.set_defaults(run=run_promote)

    abort = commands.add_parser("abort", parents=[common], help="go back to the stable revision (Degraded)")
    abort.add_argument("name", metavar="NAME")
    abort.set_defaults(run=run_abort)

    retry = commands.add_parser("retry", parents=[common], help="start an aborted update again")
    retry.add_argument("target", nargs="+", metavar="[rollout] NAME")
    retry.set_defaults(run=run_retry)

    pause = commands.add_parser("pause", parents=[common], help="pause a Rollout (spec.paused)")
    pause.add_argument("name", metavar="NAME")
    pause.set_defaults(run=run_pause)

    restart = commands.add_parser(
        "restart", parents=[common], help="replace the Rollout's pods, a few at a time"
    )
    restart.add_argument("name", metavar="NAME")
    restart.add_argument(
        "--in", dest="delay", type=parse_duration_argument, default=datetime.timedelta(0), help="e.g. 30s"
    )
    restart.set_defaults(run=run_restart)

    undo = commands.add_parser("undo", parents=[common], help="go back to an earlier revision's pod template")
    undo.add_argument("name", metavar="NAME")
    undo.add_argument("--to-revision", type=int, help="default: the revision before the current one")
    undo.set_defaults(run=run_undo)

    set_command = commands.add_parser("set", help="change a Rollout's pod template")
    set_kinds = set_command.add_subparsers(dest="kind", metavar="WHAT", required=True)
    set_image = set_kinds.add_parser("image", parents=[common], help="set container images")
    set_image.add_argument("name", metavar="NAME")
    set_image.add_argument(
        "assignments", nargs="+", type=parse_image_assignment, metavar="CONTAINER=IMAGE", help="`*` means all"
    )
    set_image.set_defaults(run=run_set_image)
    return KindParsers(get=get_kinds, listing=list_kinds, common=common)


# ---------------------------------------------------------------------------------------------------------------
# Talking to the cluster


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Session:
    clients: client.Clients
    namespace: str

    def rollout(self, name: str) -> dict[str, Any]:
        found = rollout_actions.get_rollout(self.clients.custom, namespace=self.namespace, name=name)
        if found is None:
            raise not_found(name, self.namespace)
        return found

    def owned(self, rollout: Mapping[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The Rollout's ReplicaSets and AnalysisRuns."""
        uid = str(_mapping(rollout.get("metadata")).get("uid") or "")
        owned_sets = replicasets.list_owned(self.clients.apps, namespace=self.namespace, owner_uid=uid)
        runs = rollout_actions.list_owned_analysis_runs(
            self.clients.custom, namespace=self.namespace, owner_uid=uid
        )
        return owned_sets, runs

    def patch_status(self, name: str, body: Mapping[str, Any]) -> None:
        rollout_actions.patch_rollout_status(
            self.clients.custom, namespace=self.namespace, name=name, body=body
        )

    def patch(self, name: str, body: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> None:
        rollout_actions.patch_rollout(self.clients.custom, namespace=self.namespace, name=name, body=body)


def _session(args: argparse.Namespace) -> Session:
    kubeconfig = getattr(args, "kubeconfig", None)
    namespace = getattr(args, "namespace", None) or rollout_actions.default_namespace(kubeconfig=kubeconfig)
    args.namespace = namespace  # resolved once, for the error messages too
    return Session(clients=rollout_actions.connect(kubeconfig=kubeconfig), namespace=namespace)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _guarded(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turns the errors a command can meet into a message on stderr and an exit code."""

    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except CommandError as err:
            print(err.message, file=sys.stderr)
            return err.code
        except errors.NotFound as err:
            name = getattr(args, "name", None)
            if name:
                namespace = getattr(args, "namespace", None) or "?"
                print(f"{not_found(name, namespace).message}: {err.message}", file=sys.stderr)
            else:
                print(err.message, file=sys.stderr)
            return EXIT_MISSING
        except errors.KubeError as err:
            print(err.message, file=sys.stderr)
            return EXIT_ERROR
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED

    run.__name__ = command.__name__
    run.__doc__ = command.__doc__
    return run


# ---------------------------------------------------------------------------------------------------------------
# Commands


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Frame:
    """One look at the watched objects: the text, their identity (names and resourceVersions), whether done."""

    text: str
    state: tuple[str, ...]
    done: bool


def object_versions(objects: Sequence[Mapping[str, Any]]) -> tuple[str, ...]:
    return tuple(
        str(_mapping(obj.get("metadata")).get("resourceVersion"))
        + str(_mapping(obj.get("metadata")).get("name"))
        for obj in objects
    )


def watch_frames(
    look: Callable[[], Frame],
    *,
    out: TextIO,
    is_tty: bool,
    until_done: bool,
    interval: float,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Polls and redraws whenever something changed. A terminal gets the screen cleared and redrawn (countdowns
    tick); a pipe gets each new state of the objects once, frames separated by a blank line."""
    last_frame: str | None = None
    last_state: tuple[str, ...] | None = None
    while True:
        frame = look()
        if is_tty and frame.text != last_frame:
            out.write(CLEAR_SCREEN + frame.text)
        elif not is_tty and frame.state != last_state:
            out.write(("\n" if last_state is not None else "") + frame.text)
        out.flush()
        last_frame, last_state = frame.text, frame.state
        if until_done and frame.done:
            return EXIT_OK
        sleep(interval)


def watch_rollout(
    fetch: Callable[[], tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]],
    *,
    out: TextIO,
    is_tty: bool,
    until_done: bool,
    interval: float,
    now: Callable[[], datetime.datetime] = _now,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Redraws the tree whenever the Rollout, one of its ReplicaSets or one of its AnalysisRuns changes."""

    def look() -> Frame:
        rollout, owned_sets, runs = fetch()
        return Frame(
            text=tree.render_rollout(rollout, owned_sets, analysis_runs=runs, now=now()),
            state=object_versions((rollout, *owned_sets, *runs)),
            done=tree.is_done(tree.client_phase(rollout)[0]),
        )

    return watch_frames(look, out=out, is_tty=is_tty, until_done=until_done, interval=interval, sleep=sleep)


@_guarded
def run_get(args: argparse.Namespace) -> int:
    session = _session(args)

    def fetch() -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
        rollout = session.rollout(args.name)
        owned_sets, runs = session.owned(rollout)
        return rollout, owned_sets, runs

    if not args.watch:
        rollout, owned_sets, runs = fetch()
        sys.stdout.write(tree.render_rollout(rollout, owned_sets, analysis_runs=runs, now=_now()))
        return EXIT_OK
    return watch_rollout(
        fetch,
        out=sys.stdout,
        is_tty=sys.stdout.isatty(),
        until_done=args.until_done,
        interval=POLL_INTERVAL_SECONDS,
    )


@_guarded
def run_list(args: argparse.Namespace) -> int:
    session = _session(args)
    namespace = None if args.all_namespaces else session.namespace
    found = rollout_actions.list_rollouts(session.clients.custom, namespace=namespace)
    if not found:
        where = "any namespace" if namespace is None else f'namespace "{namespace}"'
        print(f"No rollouts found in {where}.", file=sys.stderr)
        return EXIT_OK
    sys.stdout.write(tree.render_rollout_list(found, all_namespaces=args.all_namespaces, now=_now()))
    return EXIT_OK


def _status_line(phase: str, message: str) -> str:
    return f"{phase} - {message}" if message else phase


@_guarded
def run_status(args: argparse.Namespace) -> int:
    """Prints each new phase; 0 Healthy, 1 Degraded, 2 timeout or no such Rollout."""
    session = _session(args)
    deadline = time.monotonic() + args.timeout.total_seconds() if args.timeout else None
    last = ""
    while True:
        phase, message = tree.client_phase(session.rollout(args.name))
        line = _status_line(phase, message)
        if line != last:
            print(line, flush=True)
            last = line
        if phase == "Healthy":
            return EXIT_OK
        if phase == "Degraded":
            return EXIT_ERROR
        if not args.watch:
            return EXIT_OK
        if deadline is not None and time.monotonic() >= deadline:
            print(
                f'rollout "{args.name}" did not finish within {fields.format_duration(args.timeout)}',
                file=sys.stderr,
            )
            return EXIT_MISSING
        sleep_for = POLL_INTERVAL_SECONDS
        if deadline is not None:
            sleep_for = max(min(sleep_for, deadline - time.monotonic()), 0)
        time.sleep(sleep_for)


def _send(session: Session, name: str, patches: Patches) -> None:
    # Status first, as Argo's plugin does: an unpause before the pause conditions are cleared could let the
    # controller see "unpaused, still at the pause" and do nothing useful in between.
    if patches.status is not None:
        session.patch_status(name, patches.status)
    if patches.spec is not None:
        session.patch(name, patches.spec)


@_guarded
def run_promote(args: argparse.Namespace) -> int:
    session = _session(args)
    rollout = session.rollout(args.name)
    _send(session, args.name, promote_patches(rollout, full=args.full))
    print(f"rollout '{args.name}' {'fully promoted' if args.full else 'promoted'}")
    return EXIT_OK


@_guarded
def run_abort(args: argparse.Namespace) -> int:
    session = _session(args)
    session.rollout(args.name)
    session.patch_status(args.name, {"status": {"abort": True}})
    print(f"rollout '{args.name}' aborted")
    return EXIT_OK


def _retry_target(words: Sequence[str]) -> str:
    """`retry NAME` or `retry rollout NAME` (Argo's spelling).

    >>> _retry_target(["rollout", "demo"]), _retry_target(["demo"])
    ('demo', 'demo')
    """
    if len(words) == 1:
        return words[0]
    if len(words) == 2 and words[0] in ("rollout", "rollouts", "ro"):
        return words[1]
    raise CommandError("usage: rollwave retry [rollout] NAME")


@_guarded
def run_retry(args: argparse.Namespace) -> int:
    args.name = _retry_target(args.target)
    session = _session(args)
    session.rollout(args.name)
    session.patch_status(args.name, {"status": {"abort": False}})
    print(f"rollout '{args.name}' retried")
    return EXIT_OK


@_guarded
def run_pause(args: argparse.Namespace) -> int:
    session = _session(args)
    session.rollout(args.name)
    session.patch(args.name, {"spec": {"paused": True}})
    print(f"rollout '{args.name}' paused")
    return EXIT_OK


@_guarded
def run_restart(args: argparse.Namespace) -> int:
    session = _session(args)
    session.rollout(args.name)
    patch = restart_patch(_now(), delay=args.delay)
    session.patch(args.name, patch)
    print(f"rollout '{args.name}' restarts at {patch['spec']['restartAt']}")
    return EXIT_OK


@_guarded
def run_undo(args: argparse.Namespace) -> int:
    session = _session(args)
    rollout = session.rollout(args.name)
    owned_sets, _ = session.owned(rollout)
    plan = undo_plan(rollout, owned_sets, to_revision=args.to_revision)
    if plan.already_current:
        print(f"skipped rollback (current template already matches revision {plan.revision})")
        return EXIT_OK
    session.patch(args.name, undo_operations(plan))
    print(f"rollout '{args.name}' rolled back to revision {plan.revision} ({plan.replica_set})")
    return EXIT_OK


@_guarded
def run_set_image(args: argparse.Namespace) -> int:
    session = _session(args)
    for attempt in range(SET_IMAGE_ATTEMPTS):
        rollout = session.rollout(args.name)
        operations = set_image_operations(rollout, args.assignments)
        if not operations:
            print(f'rollout "{args.name}" image unchanged')
            return EXIT_OK
        try:
            session.patch(args.name, operations)
        except errors.Invalid:
            # A failed `test` (the template changed under us) is a 422 as well: read again and retry.
            if attempt == SET_IMAGE_ATTEMPTS - 1:
                raise
            continue
        break
    print(f'rollout "{args.name}" image updated')
    return EXIT_OK
