"""Replica arithmetic of the canary strategy: how many pods the canary and the stable ReplicaSet get.

Everything here takes plain ints and small frozen values and returns ints; the caller turns the result into
`ScaleReplicaSet` effects. Names follow Argo Rollouts' vocabulary: R = `spec.replicas`, w = the desired canary
weight, W = the maximum weight (`trafficRouting.maxTrafficWeight`, 100 without traffic routing), S and U = the
resolved `maxSurge` and `maxUnavailable`.

Basic canary (no traffic routing), `examples/rollout-canary.yaml` (R=5, maxSurge and maxUnavailable default
to 25%, so S=2 and U=1), walking its setWeight steps from a fully available stable ReplicaSet:

    weight 20 -> new 1 stable 4;  40 -> new 2 stable 3;  60 -> new 3 stable 2;  80 -> new 4 stable 1

A traffic-routed canary keeps the stable ReplicaSet at full size and gives the canary ceil(w*R/W) pods:
replicas 10 weight 5 -> new 1 stable 10.
"""

from __future__ import annotations

import dataclasses
import fractions
import math
import re
from collections.abc import Sequence

# Argo resolves IntOrString through the legacy rule: every string is a percentage, "%" or not.
_PERCENT = re.compile(r"\+?[0-9]+%?")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ReplicaSetCounts:
    """The three counts of one ReplicaSet that the canary arithmetic reads.

    `replicas` is `spec.replicas`; `available_replicas` and `status_replicas` are `status.availableReplicas`
    and `status.replicas` (pods that still exist, including ones not yet available).
    """

    replicas: int
    available_replicas: int
    status_replicas: int

    @property
    def counted_available(self) -> int:
        """Available pods that survive the pending scale-down (status may still count pods being deleted)."""
        return min(self.available_replicas, self.replicas)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CanaryScale:
    """An explicit `setCanaryScale` in effect: either `replicas` or a `weight` (percent of `spec.replicas`).

    `matchTrafficWeight: true` cancels an explicit scale: the caller passes `canary_scale=None` then.
    """

    replicas: int | None = None
    weight: int | None = None


def percent_of(total: int, value: int, *, round_up: bool) -> int:
    """`value` percent of `total`, rounded up (maxSurge) or down (maxUnavailable).

    percent_of(5, 25, round_up=True) -> 2;  percent_of(5, 25, round_up=False) -> 1
    percent_of(10, 30, round_up=True) -> 3 (no rounding needed)
    """
    if value < 0:
        raise ValueError(f"a percentage cannot be negative: {value}")
    scaled = total * value
    return -(-scaled // 100) if round_up else scaled // 100


def _resolve(value: int | str, *, replicas: int, round_up: bool, field: str) -> int:
    if isinstance(value, bool):
        raise TypeError(f"{field} must be an int or a percentage string, not {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"{field} cannot be negative: {value}")
        return value
    if not _PERCENT.fullmatch(value):
        raise ValueError(f"{field} is neither a count nor a percentage: {value!r}")
    return percent_of(replicas, int(value.removesuffix("%")), round_up=round_up)


def resolve_surge_and_unavailable(
    *, replicas: int, max_surge: int | str, max_unavailable: int | str
) -> tuple[int, int]:
    """Resolve `maxSurge` and `maxUnavailable` to pod counts for `replicas` pods.

    Ints are absolute. Every string is a percentage, with or without "%". Surge rounds up, unavailable
    rounds down. If both come out as 0, one pod may be unavailable, so a rollout can always make progress.

    replicas 5, "25%", "25%" -> (2, 1);  replicas 10, "5", 0 -> (1, 0);  replicas 3, 0, "10%" -> (0, 1)
    """
    surge = _resolve(max_surge, replicas=replicas, round_up=True, field="maxSurge")
    unavailable = _resolve(max_unavailable, replicas=replicas, round_up=False, field="maxUnavailable")
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def _validate_weight(*, replicas: int, weight: int, max_weight: int) -> None:
    if replicas < 0:
        raise ValueError(f"replicas cannot be negative: {replicas}")
    if max_weight <= 0:
        raise ValueError(f"the maximum weight must be positive: {max_weight}")
    if not 0 <= weight <= max_weight:
        raise ValueError(f"weight {weight} is outside 0..{max_weight}")


def approximate_weighted_counts(
    *, replicas: int, weight: int, max_weight: int = 100, max_surge: int
) -> tuple[int, int]:
    """The (canary, stable) pod counts whose ratio is nearest to `weight`, without traffic routing.

    Candidates are (canary, total) pairs, tried in this order, with x = R*w/W:
    (ceil x, R) if ceil x < R or zero is allowed; (floor x, R) unless R*w/W ends in exactly .5 and unless
    floor x is 0 where zero is not allowed; and with a surge (S > 0) the same two with total R+1 (the tie
    test uses (R+1)*w/W). Zero is allowed at w = 0, w = W, or for a single replica without surge. The
    candidate with the smallest |canary*W/total - w| wins; on a tie the earlier one does. Arithmetic is exact.
    A weight of 1..W-1 thus never gives 0 canary pods when R + surge >= 2, and uses at most one surge pod.

    replicas 10 weight 41 -> new 4 stable 6;  replicas 10 weight 24 maxSurge 1 -> new 3 stable 8 (3/11 = 27%)
    replicas 10 weight 15 maxSurge 0 -> new 2 stable 8 (a .5 tie rounds up)
    replicas 1 weight 49 maxSurge 0 -> new 0 stable 1;  replicas 1 weight 50 maxSurge 0 -> new 1 stable 0
    """
    _validate_weight(replicas=replicas, weight=weight, max_weight=max_weight)
    if replicas == 0:
        return 0, 0
    exact_canary = fractions.Fraction(replicas * weight, max_weight)
    ceil_canary = math.ceil(exact_canary)
    floor_canary = math.floor(exact_canary)
    zero_allowed = weight in (0, max_weight) or (replicas == 1 and max_surge == 0)

    def tied(total: int) -> bool:
        share = fractions.Fraction(total * weight, max_weight)
        return share - math.floor(share) == fractions.Fraction(1, 2)

    floor_usable = floor_canary != 0 or zero_allowed
    candidates: list[tuple[int, int]] = []
    if ceil_canary < replicas or zero_allowed:
        candidates.append((ceil_canary, replicas))
    if not tied(replicas) and floor_usable:
        candidates.append((floor_canary, replicas))
    if max_surge > 0:
        candidates.append((ceil_canary, replicas + 1))
        if not tied(replicas + 1) and floor_usable:
            candidates.append((floor_canary, replicas + 1))
    if not candidates:
        # Only without surge, at a weight just below W where R*w/W ends in .5 (R 2 w 75, R 10 w 95): the
        # rules reject both "all canary" and the floor. Keep one stable pod, as every other weight below W
        # does.
        candidates.append((floor_canary, replicas))

    def distance(candidate: tuple[int, int]) -> fractions.Fraction:
        canary, total = candidate
        return abs(fractions.Fraction(canary * max_weight, total) - weight)

    # min() keeps the first of equally near candidates: the earlier one wins a tie.
    canary, total = min(candidates, key=distance)
    return canary, total - canary


def basic_canary_counts(
    *,
    replicas: int,
    weight: int,
    max_weight: int = 100,
    max_surge: int,
    max_unavailable: int,
    new: ReplicaSetCounts | None,
    stable: ReplicaSetCounts | None,
    others: Sequence[ReplicaSetCounts],
    aborted: bool = False,
) -> tuple[int, int]:
    """The `spec.replicas` of the (new, stable) ReplicaSets for this reconcile of a basic canary.

    One reconcile moves toward the targets of `approximate_weighted_counts` (weight 0 when `aborted`) without
    ever holding more than R+S pods or, by its own scale-downs, fewer than R-U available ones:

    1. No stable ReplicaSet (pass `stable=None` also when the new ReplicaSet *is* the stable one): (R, 0).
    2. Scale up within R+S minus every ReplicaSet's spec: the stable toward its target first, then the new.
    3. If an older ReplicaSet still has replicas, stop: `scale_down_others` drains those first.
    4. Scale down the shrinking side (the stable while the canary grows, the canary when it shrinks).
       Count the shrinking side's spec and the growing side's available pods; drain what exceeds R-U.
    5. If the two still exceed R+S, trim the growing side: its unavailable pods, then spare availability.

    replicas 5 maxSurge 2 maxUnavailable 1 weight 20, stable 5 available, new 0 -> new 1 stable 4
    (the surge pays for the canary pod; 5 + 0 - 4 = 1 stable pod may go at once).
    replicas 10 maxSurge 0 maxUnavailable 1 weight 50, stable 10 available, new 0 -> new 0 stable 9
    (no surge: make room first).
    """
    target_weight = 0 if aborted else weight
    desired_new, desired_stable = approximate_weighted_counts(
        replicas=replicas, weight=target_weight, max_weight=max_weight, max_surge=max_surge
    )
    if stable is None:
        return replicas, 0

    new_count = new.replicas if new is not None else 0
    stable_count = stable.replicas
    max_total = replicas + max_surge
    budget = max_total - (sum(other.replicas for other in others) + new_count + stable_count)
    if budget > 0:
        # The stable side first: after an abort it must be back at strength before the canary may grow.
        if stable_count < desired_stable:
            added = min(budget, desired_stable - stable_count)
            stable_count += added
            budget -= added
        if new is not None and new_count < desired_new:
            new_count += min(budget, desired_new - new_count)

    if any(other.replicas > 0 for other in others):
        # Older ReplicaSets hold pods: they are scaled down first, and spare availability goes to them.
        return new_count, stable_count

    min_available = replicas - max_unavailable
    canary_grows = new is None or desired_new >= new.replicas
    if canary_grows:
        stable_count, new_count = _drain(
            shrinking=stable,
            shrinking_count=stable_count,
            shrinking_target=desired_stable,
            growing=new,
            growing_count=new_count,
            max_total=max_total,
            min_available=min_available,
        )
    else:
        assert new is not None  # a shrinking canary exists
        new_count, stable_count = _drain(
            shrinking=new,
            shrinking_count=new_count,
            shrinking_target=desired_new,
            growing=stable,
            growing_count=stable_count,
            max_total=max_total,
            min_available=min_available,
        )
    return new_count, stable_count


def _drain(
    *,
    shrinking: ReplicaSetCounts,
    shrinking_count: int,
    shrinking_target: int,
    growing: ReplicaSetCounts | None,
    growing_count: int,
    max_total: int,
    min_available: int,
) -> tuple[int, int]:
    """Steps 4 and 5 of `basic_canary_counts`, returning (shrinking, growing) counts."""
    growing_available = growing.counted_available if growing is not None else 0
    # The shrinking side counts by spec: pods it is still starting are removed first, so they cost nothing.
    counted = shrinking.replicas + growing_available
    if counted <= min_available:
        return shrinking_count, growing_count
    if shrinking.replicas > shrinking_target:
        shrinking_count = max(shrinking_target, shrinking.replicas - (counted - min_available))

    excess = shrinking_count + growing_count - max_total
    if excess > 0:
        growing_kept = min(growing_available, growing_count)
        kept_available = min(shrinking.available_replicas, shrinking_count) + growing_kept
        spare = max(0, kept_available - min_available)
        growing_count -= min(excess, growing_count - growing_kept + spare)
    return shrinking_count, growing_count


def scale_down_others(
    *,
    replicas: int,
    max_unavailable: int,
    new: ReplicaSetCounts | None,
    stable: ReplicaSetCounts | None,
    others: Sequence[ReplicaSetCounts],
) -> list[int]:
    """New `spec.replicas` for each older ReplicaSet (same order as `others`, oldest first).

    Pods that are not available go for free. Available ones go only while the total available pods (new,
    stable and older) stay at or above R-U, the oldest ReplicaSet first.

    replicas 10 maxUnavailable 2, new 4 available, stable 3 available,
    others [spec 3 with 1 available, 4 available] -> [0, 1]: 12 available - 8 = 4 may go, the oldest
    first; its 2 unavailable pods were free.
    replicas 4 maxUnavailable 1, new spec 1 with 0 available, stable 2 available, others [2 available] -> [1]
    (4 available - 3 = 1 may go).
    """
    min_available = replicas - max_unavailable
    everyone = [*others, *(counts for counts in (new, stable) if counts is not None)]
    spare = max(0, sum(counts.counted_available for counts in everyone) - min_available)
    sizes: list[int] = []
    for other in others:
        available_left = other.counted_available
        removed = min(available_left, spare)
        spare -= removed
        sizes.append(available_left - removed)
    return sizes


def traffic_routed_counts(
    *,
    replicas: int,
    weight: int,
    max_weight: int = 100,
    canary_scale: CanaryScale | None,
    dynamic_stable_scale: bool,
    min_pods_per_replica_set: int | None,
    stable_weight_actual: int | None,
) -> tuple[int, int]:
    """(new, stable) `spec.replicas` of a traffic-routed canary: the router splits traffic, not pod counts.

    The canary gets ceil(w*R/W) pods (or the explicit `setCanaryScale` replicas, or its weight as a percent of
    R). The stable stays at R, or with `dynamicStableScale` shrinks to what its traffic needs: the larger of
    ceil((W-w)*R/W) and ceil(actual stable weight*R/W): never below what the router still sends it.
    `minPodsPerReplicaSet` is a floor on any non-zero count.

    replicas 10 weight 5 -> new 1 stable 10
    replicas 10 weight 30, setCanaryScale replicas 1 -> new 1 stable 10;  setCanaryScale weight 50 -> new 5
    replicas 10 weight 30 dynamicStableScale, router still at stable 100 -> new 3 stable 10; at 70 -> 3/7
    replicas 10 weight 5 minPodsPerReplicaSet 2 -> new 2 stable 10
    """
    _validate_weight(replicas=replicas, weight=weight, max_weight=max_weight)

    def pods_for(share: int, of_weight: int) -> int:
        return -(-(share * replicas) // of_weight)

    if canary_scale is not None and canary_scale.replicas is not None:
        new_count = canary_scale.replicas
    elif canary_scale is not None and canary_scale.weight is not None:
        new_count = pods_for(canary_scale.weight, 100)
    else:
        new_count = pods_for(weight, max_weight)

    stable_count = replicas
    if dynamic_stable_scale:
        stable_count = pods_for(max_weight - weight, max_weight)
        if stable_weight_actual is not None:
            stable_count = max(stable_count, pods_for(stable_weight_actual, max_weight))

    floor = min_pods_per_replica_set or 0
    if new_count > 0:
        new_count = max(new_count, floor)
    if stable_count > 0:
        stable_count = max(stable_count, floor)
    return new_count, stable_count


def is_set_weight_step_complete(
    *,
    desired_canary: int,
    desired_stable: int,
    new: ReplicaSetCounts,
    stable: ReplicaSetCounts | None,
    others_available: int,
    traffic_routed: bool,
    dynamic_stable_scale: bool = False,
) -> bool:
    """Whether a setWeight step has reached its replica counts, so the rollout may take the next step.

    The new ReplicaSet has spec == available == the desired count. The stable ReplicaSet has spec == status
    replicas == its desired count (not checked with traffic routing plus dynamicStableScale), so its extra
    pods are really gone. A basic canary also waits until no older ReplicaSet has available pods.

    desired 1/4: new 1 spec 1 available, stable 4 spec 5 status -> False (a pod still terminating);
    stable 4 spec 4 status -> True.
    """
    if new.replicas != desired_canary or new.available_replicas != desired_canary:
        return False
    if not (traffic_routed and dynamic_stable_scale):
        if stable is None:
            if desired_stable != 0:
                return False
        elif stable.replicas != desired_stable or stable.status_replicas != desired_stable:
            return False
    return traffic_routed or others_available == 0
