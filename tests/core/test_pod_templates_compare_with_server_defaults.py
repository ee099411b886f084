"""Templates that run the same pods compare equal whether or not the API server's defaults are spelled out."""

from __future__ import annotations

import pytest

from rollouts.core import podtemplates

USER = {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "app", "image": "nginx:1"}]}}
STORED = {
    "metadata": {"labels": {"app": "x", "rollouts-pod-template-hash": "abc"}, "creationTimestamp": None},
    "spec": {
        "containers": [
            {
                "name": "app",
                "image": "nginx:1",
                "imagePullPolicy": "IfNotPresent",
                "resources": {},
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
            }
        ],
        "restartPolicy": "Always",
        "dnsPolicy": "ClusterFirst",
        "schedulerName": "default-scheduler",
        "securityContext": {},
        "terminationGracePeriodSeconds": 30,
    },
}


def test_user_template_matches_its_stored_copy() -> None:
    assert podtemplates.same_pods(USER, STORED)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        pytest.param({"image": "nginx:2"}, "another image", id="image"),
        pytest.param({"imagePullPolicy": "Always"}, "a non-default pull policy", id="pull-policy"),
        pytest.param({"resources": {"limits": {"cpu": "1"}}}, "resources", id="resources"),
        pytest.param({"env": [{"name": "A", "value": "1"}]}, "env", id="env"),
    ],
)
def test_a_real_difference_still_differs(change: dict[str, object], why: str) -> None:
    changed = {**USER, "spec": {"containers": [{**USER["spec"]["containers"][0], **change}]}}  # type: ignore[index]
    assert not podtemplates.same_pods(changed, STORED), why


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        pytest.param("nginx", "Always", id="no-tag"),
        pytest.param("nginx:latest", "Always", id="latest"),
        pytest.param("registry:5000/nginx", "Always", id="registry-port-no-tag"),
        pytest.param("registry:5000/nginx:1.2", "IfNotPresent", id="registry-port-tag"),
        pytest.param("nginx@sha256:abc", "IfNotPresent", id="digest"),
    ],
)
def test_image_pull_policy_default_follows_the_api_server(image: str, policy: str) -> None:
    container = podtemplates.normalized({"spec": {"containers": [{"name": "a", "image": image}]}})["spec"][
        "containers"
    ][0]
    assert container["imagePullPolicy"] == policy


def test_ports_get_tcp_by_default() -> None:
    left = {"spec": {"containers": [{"name": "a", "image": "i:1", "ports": [{"containerPort": 80}]}]}}
    right = {
        "spec": {
            "containers": [{"name": "a", "image": "i:1", "ports": [{"containerPort": 80, "protocol": "TCP"}]}]
        }
    }
    assert podtemplates.same_pods(left, right)
