"""`rollwave app get|sync|diff|history|refresh|wait NAME`: look at and drive an Application.

The requests are Argo CD's, so `argocd` users find the same fields:

    sync      merge patch on the Application: {"operation": {"sync": {"revision", "prune", "dryRun"},
              "initiatedBy": {"username"}}}; the controller starts it, records the request's generation in
              status.operationState.requestGeneration and removes the field. The command then waits for that
              operation to end (unless --async): exit 0 Succeeded, 1 Failed or Error, 2 timeout.
    refresh   annotation argocd.argoproj.io/refresh=normal|hard: compare with Git now (the controller removes it)
    diff      computed here, as the controller compares: each object rendered from Git is dry-run applied
              server-side and compared with its live copy; objects that left Git show as deleted. Exit 0 no
              difference, 1 different, 2 an error.
    wait      polls until the Application is Healthy / Synced / has no running operation (all three unless one
              is chosen): exit 0 met, 1 Degraded or the operation failed, 2 timeout.

What is printed is a pure function of the Application read (`render_application`, `resource_rows`,
`render_history`, `render_diff`); the commands only fetch and patch. `app get` reads like this::

    Name:          shop
    Namespace:     team-a
    Source:        https://git.example/shop.git, path deploy, targetRevision main
    Destination:   shop (in-cluster)
    Sync policy:   automated (prune, selfHeal)
    Sync status:   Synced to 5baed56
    Health:        Healthy
    Operation:     Sync Succeeded at 2026-03-01T12:00:04Z: successfully synced (all tasks run)

    PHASE     WAVE  KIND       NAME     SYNC    HEALTH   RESULT     MESSAGE
    PreSync   0     Job        migrate                   Succeeded  job completed
    Sync      -1    ConfigMap  config   Synced  Healthy  Synced     created
    Sync      0     Rollout    web      Synced  Healthy  Synced     configured
    PostSync  0     Job        smoke                     Succeeded  job completed
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import getpass
import pathlib
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rollouts.cli import rollouts
from rollouts.core import waves
from rollouts.kube import apply as kube_apply
from rollouts.kube import client, custom, discovery, errors, rollout_actions
from rollouts.model import application as model
from rollouts.model import fields
from rollouts.reconcile import application as reconcile_application
from rollouts.sources import git

PLURAL = "applications"
EXIT_OK, EXIT_ERROR, EXIT_TIMEOUT = 0, 1, 2
EXIT_DIFFERENT, EXIT_CANNOT_COMPARE = 1, 2
POLL_SECONDS = 1.0
MESSAGE_WIDTH = 100


# One error type for every command: the message is printed as is, the code is the exit code.
CommandError = rollouts.CommandError


def _mapping(raw: object) -> Mapping[str, Any]:
    return raw if isinstance(raw, Mapping) else {}


def _list(raw: object) -> list[Any]:
    return list(raw) if isinstance(raw, list) else []


# ---------------------------------------------------------------------------------------------------------------
# Pure: what to send, what to print


def sync_request(
    *, prune: bool = False, dry_run: bool = False, revision: str | None = None, username: str | None = None
) -> dict[str, Any]:
    """The merge patch that asks for a sync (Argo CD's `operation`).

    >>> sync_request(prune=True, username="alice")
    {'operation': {'sync': {'prune': True}, 'initiatedBy': {'username': 'alice'}}}
    """
    sync: dict[str, Any] = {}
    if revision:
        sync["revision"] = revision
    if prune:
        sync["prune"] = True
    if dry_run:
        sync["dryRun"] = True
    operation: dict[str, Any] = {"sync": sync}
    if username:
        operation["initiatedBy"] = {"username": username}
    return {"operation": operation}


def refresh_request(*, hard: bool = False) -> dict[str, Any]:
    return {
        "metadata": {"annotations": {reconcile_application.REFRESH_ANNOTATION: "hard" if hard else "normal"}}
    }


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    phase: str
    wave: int
    kind: str
    name: str
    namespace: str = ""
    sync: str = ""
    health: str = ""
    result: str = ""
    message: str = ""

    @property
    def order(self) -> tuple[int, int, int, str, str]:
        phase_rank = waves.PHASE_ORDER.get(model.SyncPhase(self.phase), 9) if self.phase in _PHASES else 9
        return (phase_rank, self.wave, waves.kind_rank(self.kind), self.name, self.kind)


_PHASES = frozenset(phase.value for phase in model.SyncPhase)


def resource_rows(app: Mapping[str, Any]) -> list[Row]:
    """One row per task of the last operation and per managed object, in sync order (phase, wave, kind, name).

    A task's row carries its result (a hook's phase, an object's result code) and the object's current sync
    status and health; an object the last operation did not touch (a selective sync) still has its row.
    """
    status = _mapping(app.get("status"))
    resources = {
        (str(r.get("group") or ""), str(r.get("kind")), str(r.get("namespace") or ""), str(r.get("name"))): r
        for r in (_mapping(entry) for entry in _list(status.get("resources")))
    }
    state = _mapping(status.get("operationState"))
    rows: list[Row] = []
    covered: set[tuple[str, str, str, str]] = set()
    for entry in (_mapping(e) for e in _list(_mapping(state.get("syncResult")).get("resources"))):
        key = (
            str(entry.get("group") or ""),
            str(entry.get("kind")),
            str(entry.get("namespace") or ""),
            str(entry.get("name")),
        )
        live = _mapping(resources.get(key))
        covered.add(key)
        hook_phase = str(entry.get("hookPhase") or "")
        code = str(entry.get("status") or "")
        result = (
            hook_phase if entry.get("hookType") else (code if code and hook_phase != "Failed" else hook_phase)
        )
        rows.append(
            Row(
                phase=str(entry.get("syncPhase") or "Sync"),
                wave=_int(entry.get("syncWave")),
                kind=key[1],
                name=key[3],
                namespace=key[2],
                sync=str(live.get("status") or ""),
                health=str(_mapping(live.get("health")).get("status") or ""),
                result=result,
                message=str(entry.get("message") or ""),
            )
        )
    for key, entry in resources.items():
        if key in covered:
            continue
        rows.append(
            Row(
                # A hook left from an earlier sync (kept by its delete policy) belongs to no phase of this one.
                phase="Hook" if entry.get("hook") else "Sync",
                wave=_int(entry.get("syncWave")),
                kind=key[1],
                name=key[3],
                namespace=key[2],
                sync=str(entry.get("status") or ""),
                health=str(_mapping(entry.get("health")).get("status") or ""),
                message="requires pruning" if entry.get("requiresPruning") else "",
            )
        )
    return sorted(rows, key=lambda row: row.order)


def _int(raw: object) -> int:
    return raw if isinstance(raw, int) and not isinstance(raw, bool) else 0


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = []
    for row in (header, *rows):
        cells = [str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


def _short(text: str, width: int = MESSAGE_WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def render_rows(rows: Sequence[Row]) -> str:
    header = ("PHASE", "WAVE", "KIND", "NAME", "SYNC", "HEALTH", "RESULT", "MESSAGE")
    return _table(
        header,
        [
            (
                row.phase,
                str(row.wave),
                row.kind,
                row.name,
                row.sync,
                row.health,
                row.result,
                _short(row.message),
            )
            for row in rows
        ],
    )


def _source_line(spec: Mapping[str, Any]) -> str:
    source = _mapping(spec.get("source"))
    if source.get("repoURL"):
        parts = [git.redact(str(source["repoURL"]))]
        if source.get("path"):
            parts.append(f"path {source['path']}")
        parts.append(f"targetRevision {source.get('targetRevision') or model.DEFAULT_TARGET_REVISION}")
        return ", ".join(parts)
    return "inline manifests" if source.get("inline") is not None else "manifests in the spec"


def _policy_line(spec: Mapping[str, Any]) -> str:
    policy = _mapping(spec.get("syncPolicy"))
    automated = policy.get("automated")
    if not isinstance(automated, Mapping) or automated.get("enabled") is False:
        text = "manual"
    else:
        flags = [flag for flag in ("prune", "selfHeal", "allowEmpty") if automated.get(flag)]
        text = f"automated ({', '.join(flags)})" if flags else "automated"
    options = [str(option) for option in _list(policy.get("syncOptions"))]
    return f"{text}; {', '.join(options)}" if options else text


def render_application(app: Mapping[str, Any]) -> str:
    """The `app get` text: a summary, then every resource by phase and wave."""
    metadata = _mapping(app.get("metadata"))
    spec = _mapping(app.get("spec"))
    status = _mapping(app.get("status"))
    sync = _mapping(status.get("sync"))
    health = _mapping(status.get("health"))
    state = _mapping(status.get("operationState"))
    destination = _mapping(spec.get("destination"))
    revision = str(sync.get("revision") or "")
    sync_line = str(sync.get("status") or "Unknown") + (f" to {revision[:7]}" if revision else "")
    health_line = str(health.get("status") or "Unknown")
    if health.get("message"):
        health_line += f" ({health['message']})"
    lines = [
        ("Name", str(metadata.get("name") or "")),
        ("Namespace", str(metadata.get("namespace") or "")),
        ("Source", _source_line(spec)),
        ("Destination", f"{destination.get('namespace') or '-'} (in-cluster)"),
        ("Sync policy", _policy_line(spec)),
        ("Sync status", sync_line),
        ("Health", health_line),
    ]
    if state:
        when = state.get("finishedAt") or state.get("startedAt") or ""
        verb = "at" if state.get("finishedAt") else "since"
        lines.append(
            (
                "Operation",
                f"Sync {state.get('phase', '')} {verb} {when}: {_short(str(state.get('message') or ''), 300)}",
            )
        )
    for condition in (_mapping(c) for c in _list(status.get("conditions"))):
        lines.append(
            ("Condition", f"{condition.get('type')}: {_short(str(condition.get('message') or ''), 300)}")
        )
    text = "".join(f"{label + ':':<14} {value}\n" for label, value in lines)
    rows = resource_rows(app)
    return text + ("\n" + render_rows(rows) if rows else "")


def render_history(app: Mapping[str, Any]) -> str:
    """`app history`: one line per past sync, oldest first."""
    entries = [_mapping(entry) for entry in _list(_mapping(app.get("status")).get("history"))]
    rows = []
    for entry in entries:
        initiated = _mapping(entry.get("initiatedBy"))
        who = "automated" if initiated.get("automated") else str(initiated.get("username") or "")
        source = _mapping(entry.get("source"))
        rows.append(
            (
                str(entry.get("id", "")),
                str(entry.get("deployedAt") or ""),
                str(entry.get("revision") or "")[:7],
                str(source.get("targetRevision") or ""),
                who,
            )
        )
    return _table(("ID", "DATE", "REVISION", "TARGET", "INITIATED BY"), rows)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    done: bool
    failed: bool = False
    summary: str = ""


def wait_verdict(app: Mapping[str, Any], *, health: bool, sync: bool, operation: bool) -> Verdict:
    """Whether `app wait` may stop: every chosen condition holds; `failed` when it never will as things are
    (Degraded, or the operation ended unsuccessfully)."""
    status = _mapping(app.get("status"))
    health_status = str(_mapping(status.get("health")).get("status") or "Unknown")
    sync_status = str(_mapping(status.get("sync")).get("status") or "Unknown")
    state = _mapping(status.get("operationState"))
    phase = str(state.get("phase") or "")
    running = bool(app.get("operation")) or phase in ("Running", "Terminating")
    summary = f"health {health_status}, sync {sync_status}" + (f", operation {phase}" if phase else "")
    if operation and not running and phase in ("Failed", "Error"):
        return Verdict(done=True, failed=True, summary=f"{summary}: {state.get('message', '')}")
    if health and health_status == "Degraded" and not running:
        return Verdict(done=True, failed=True, summary=summary)
    done = (
        (not health or health_status == "Healthy")
        and (not sync or sync_status == "Synced")
        and (not operation or not running)
    )
    return Verdict(done=done, summary=summary)


def render_diff(plan: waves.SyncPlan, drift: reconcile_application.Drift) -> str:
    """Each differing object as a unified diff from live to Git, in sync order; those that cannot be compared
    with the reason."""
    parts: list[str] = []
    seen: set[waves.ObjectKey] = set()
    for task in plan.tasks:
        key = task.key
        if key in seen:
            continue
        seen.add(key)
        comparison = drift.comparisons.get(key)
        title = f"===== {task.label}{' (requires pruning)' if task.prune else ''} ====="
        if comparison is not None and not comparison.in_sync:
            parts.append(f"{title}\n{comparison.diff}\n")
        elif key in drift.unknown:
            parts.append(f"{title}\ncannot compare: {drift.unknown[key]}\n")
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------------------------------
# The command line


def register(commands: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-n",
        "--namespace",
        help="the Application's namespace (default: the kubeconfig context's, else default)",
    )
    common.add_argument(
        "--kubeconfig", help="path to the kubeconfig file (default: $KUBECONFIG, ~/.kube/config)"
    )
    app = commands.add_parser("app", help="show, sync, diff and wait for Applications")
    verbs = app.add_subparsers(dest="verb", metavar="VERB", required=True)

    get = verbs.add_parser("get", parents=[common], help="summary and resources by phase and wave")
    get.add_argument("name", metavar="NAME")
    get.set_defaults(run=run_get)

    sync = verbs.add_parser("sync", parents=[common], help="sync from Git and wait for the result")
    sync.add_argument("name", metavar="NAME")
    sync.add_argument("--dry-run", action="store_true", help="dry-run every object; change nothing")
    sync.add_argument("--prune", action="store_true", help="delete objects that left Git")
    sync.add_argument("--revision", help="sync this branch, tag or commit (default: targetRevision)")
    sync.add_argument("--async", dest="no_wait", action="store_true", help="do not wait for the operation")
    sync.add_argument("--timeout", type=_duration, default=datetime.timedelta(minutes=10), help="default 10m")
    sync.set_defaults(run=run_sync)

    diff = verbs.add_parser("diff", parents=[common], help="live vs Git; exit 1 when different")
    diff.add_argument("name", metavar="NAME")
    diff.add_argument("--revision", help="compare with this branch, tag or commit (default: targetRevision)")
    diff.add_argument("--git-cache-dir", help="default: $XDG_CACHE_HOME/rollwave/git")
    diff.set_defaults(run=run_diff)

    history = verbs.add_parser("history", parents=[common], help="past syncs")
    history.add_argument("name", metavar="NAME")
    history.set_defaults(run=run_history)

    refresh = verbs.add_parser("refresh", parents=[common], help="compare with Git (and poll it) now")
    refresh.add_argument("name", metavar="NAME")
    refresh.add_argument("--hard", action="store_true", help="argocd.argoproj.io/refresh=hard")
    refresh.add_argument(
        "--timeout", type=_duration, default=datetime.timedelta(minutes=1), help="default 1m"
    )
    refresh.set_defaults(run=run_refresh)

    wait = verbs.add_parser(
        "wait", parents=[common], help="wait until Healthy / Synced / no operation running"
    )
    wait.add_argument("name", metavar="NAME")
    wait.add_argument("--health", action="store_true", help="wait for Healthy")
    wait.add_argument("--sync", action="store_true", help="wait for Synced")
    wait.add_argument("--operation", action="store_true", help="wait until no operation is running")
    wait.add_argument("--timeout", type=_duration, default=datetime.timedelta(minutes=10), help="default 10m")
    wait.set_defaults(run=run_wait)


def _duration(text: str) -> datetime.timedelta:
    try:
        return fields.parse_duration(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Session:
    clients: client.Clients
    namespace: str

    def get(self, name: str) -> dict[str, Any]:
        found = custom.get(
            self.clients.custom,
            group_version=custom.ROLLWAVE,
            plural=PLURAL,
            namespace=self.namespace,
            name=name,
        )
        if found is None:
            raise CommandError(
                f'application "{name}" not found in namespace "{self.namespace}"', code=EXIT_ERROR
            )
        return found

    def patch(self, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return custom.patch(
            self.clients.custom,
            group_version=custom.ROLLWAVE,
            plural=PLURAL,
            namespace=self.namespace,
            name=name,
            body=body,
        )


def _session(args: argparse.Namespace) -> Session:
    kubeconfig = getattr(args, "kubeconfig", None)
    namespace = args.namespace or rollout_actions.default_namespace(kubeconfig=kubeconfig)
    args.namespace = namespace
    return Session(clients=rollout_actions.connect(kubeconfig=kubeconfig), namespace=namespace)


def _guarded(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except CommandError as err:
            print(err.message, file=sys.stderr)
            return err.code
        except (reconcile_application.SourceProblem, errors.KubeError) as err:
            print(err.message, file=sys.stderr)
            return EXIT_ERROR
        except KeyboardInterrupt:
            return 130

    run.__name__ = command.__name__
    return run


def _poll(
    fetch: Callable[[], dict[str, Any]],
    until: Callable[[dict[str, Any]], bool],
    *,
    timeout: datetime.timedelta,
) -> dict[str, Any] | None:
    deadline = time.monotonic() + timeout.total_seconds()
    while True:
        app = fetch()
        if until(app):
            return app
        if time.monotonic() >= deadline:
            return None
        time.sleep(min(POLL_SECONDS, max(deadline - time.monotonic(), 0.0)))


@_guarded
def run_get(args: argparse.Namespace) -> int:
    session = _session(args)
    sys.stdout.write(render_application(session.get(args.name)))
    return EXIT_OK


@_guarded
def run_history(args: argparse.Namespace) -> int:
    session = _session(args)
    sys.stdout.write(render_history(session.get(args.name)))
    return EXIT_OK


@_guarded
def run_sync(args: argparse.Namespace) -> int:
    session = _session(args)
    app = session.get(args.name)
    phase = _mapping(_mapping(app.get("status")).get("operationState")).get("phase")
    if app.get("operation") or phase in ("Running", "Terminating"):
        raise CommandError(f'application "{args.name}": another operation is already in progress')
    try:
        username = getpass.getuser()
    except (KeyError, OSError):
        username = None
    stored = session.patch(
        args.name,
        sync_request(prune=args.prune, dry_run=args.dry_run, revision=args.revision, username=username),
    )
    generation = _mapping(stored.get("metadata")).get("generation")
    print(f"sync of application '{args.name}' requested", flush=True)
    if args.no_wait:
        return EXIT_OK

    def ended(current: dict[str, Any]) -> bool:
        state = _mapping(_mapping(current.get("status")).get("operationState"))
        return state.get("requestGeneration") == generation and state.get("phase") in (
            "Succeeded",
            "Failed",
            "Error",
        )

    final = _poll(lambda: session.get(args.name), ended, timeout=args.timeout)
    if final is None:
        print(f"the sync did not end within {fields.format_duration(args.timeout)}", file=sys.stderr)
        return EXIT_TIMEOUT
    sys.stdout.write(render_application(final))
    state = _mapping(_mapping(final.get("status")).get("operationState"))
    return EXIT_OK if state.get("phase") == "Succeeded" else EXIT_ERROR


@_guarded
def run_refresh(args: argparse.Namespace) -> int:
    session = _session(args)
    session.patch(args.name, refresh_request(hard=args.hard))

    def refreshed(current: dict[str, Any]) -> bool:
        annotations = _mapping(_mapping(current.get("metadata")).get("annotations"))
        return reconcile_application.REFRESH_ANNOTATION not in annotations

    final = _poll(lambda: session.get(args.name), refreshed, timeout=args.timeout)
    if final is None:
        print(
            f"the controller did not refresh within {fields.format_duration(args.timeout)}", file=sys.stderr
        )
        return EXIT_TIMEOUT
    sys.stdout.write(render_application(final))
    return EXIT_OK


@_guarded
def run_wait(args: argparse.Namespace) -> int:
    session = _session(args)
    chosen = args.health or args.sync or args.operation
    flags = {
        "health": args.health or not chosen,
        "sync": args.sync or not chosen,
        "operation": args.operation or not chosen,
    }
    last: list[Verdict] = []

    def met(current: dict[str, Any]) -> bool:
        verdict = wait_verdict(current, **flags)
        if not last or last[-1].summary != verdict.summary:
            print(verdict.summary, flush=True)
        last.append(verdict)
        return verdict.done

    final = _poll(lambda: session.get(args.name), met, timeout=args.timeout)
    if final is None:
        print(f"timed out after {fields.format_duration(args.timeout)}", file=sys.stderr)
        return EXIT_TIMEOUT
    return EXIT_ERROR if last[-1].failed else EXIT_OK


@_guarded
def run_diff(args: argparse.Namespace) -> int:
    try:
        return _diff(args)
    except (reconcile_application.SourceProblem, errors.KubeError) as err:
        raise CommandError(err.message, code=EXIT_CANNOT_COMPARE) from err


def _diff(args: argparse.Namespace) -> int:
    session = _session(args)
    body = session.get(args.name)
    parsed = model.parse_application(body)
    if parsed.value is None:
        raise CommandError("; ".join(str(issue) for issue in parsed.issues), code=EXIT_CANNOT_COMPARE)
    app = parsed.value
    cache = git.Cache(
        cache_dir=pathlib.Path(args.git_cache_dir or reconcile_application.default_git_cache_dir())
    )
    commit = reconcile_application.resolve_revision(app.spec.source, cache=cache, revision=args.revision)
    desired = reconcile_application.load_desired(app.spec.source, cache=cache, commit=commit)
    kinds = discovery.Discovery(session.clients.api)
    tracked = kube_apply.list_tracked(
        kinds,
        app_namespace=session.namespace,
        app_name=app.name,
        types=reconcile_application.tracked_types(desired, app.status),
    )
    plan = waves.plan_sync(
        desired=desired,
        live=tracked,
        spec=app.spec,
        state=None,
        namespaced=reconcile_application.namespaced_lookup(
            kinds, [*(item.manifest for item in desired), *tracked]
        ),
    )
    live = reconcile_application.read_live(kinds, plan, tracked)
    drift = reconcile_application.compare(
        kinds, plan, live, app_namespace=session.namespace, app_name=app.name
    )
    text = render_diff(plan, drift)
    sys.stdout.write(text)
    if drift.unknown:
        return EXIT_CANNOT_COMPARE
    return EXIT_DIFFERENT if text else EXIT_OK
