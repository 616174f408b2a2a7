"""The Helm chart, rendered by the real helm binary: what the manifests say, and what the chart refuses."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_helpers import (
    BASE_VALUES,
    CHART,
    Attempt,
    Render,
    containers,
    env_names,
    helm_binary,
    kinds,
    merge,
    one,
)
from pydantic_settings import BaseSettings

from bot.settings import Settings
from bot.worker_config import WorkerConfig

SOCKET: dict[str, Any] = {"slack": {"mode": "socket"}}
IRSA_ARN = "arn:aws:iam::111122223333:role/kms-why-bot"


def _pod_labels(deployment: dict[str, Any]) -> dict[str, str]:
    return dict(deployment["spec"]["template"]["metadata"]["labels"])


def _matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def test_web_and_worker_selectors_differ_and_each_selects_only_its_own_pods(render: Render) -> None:
    manifests = render()
    web, worker = one(manifests, "Deployment", "-web"), one(manifests, "Deployment", "-worker")
    web_sel, worker_sel = web["spec"]["selector"]["matchLabels"], worker["spec"]["selector"]["matchLabels"]
    assert web_sel != worker_sel
    assert _matches(web_sel, _pod_labels(web)) and not _matches(web_sel, _pod_labels(worker))
    assert _matches(worker_sel, _pod_labels(worker)) and not _matches(worker_sel, _pod_labels(web))
    service_sel = one(manifests, "Service")["spec"]["selector"]
    assert _matches(service_sel, _pod_labels(web)) and not _matches(service_sel, _pod_labels(worker))
    assert containers(web)[0]["args"] == ["web"]
    assert containers(worker)[0]["args"] == ["worker"]


def test_irsa_annotation_lands_on_a_stably_named_service_account_both_deployments_use(render: Render) -> None:
    values = {"serviceAccount": {"annotations": {"eks.amazonaws.com/role-arn": IRSA_ARN}}}
    for release in ("kw", "another-release"):
        manifests = render(values, release=release)
        account = one(manifests, "ServiceAccount")
        assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == IRSA_ARN
        # EKS Pod Identity associations name the service account: it must not follow the release name.
        assert account["metadata"]["name"] == "kms-why"
        for deployment in (m for m in manifests if m["kind"] == "Deployment"):
            assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == "kms-why"


def test_socket_mode_renders_no_service_or_ingress_and_keeps_two_connections(render: Render) -> None:
    manifests = render(merge_socket({"ingress": {"enabled": False}}))
    assert "Service" not in kinds(manifests)
    assert "Ingress" not in kinds(manifests)
    socket = one(manifests, "Deployment", "-socket")
    assert containers(socket)[0]["args"] == ["socket"]
    assert socket["spec"]["replicas"] >= 2
    assert socket["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    budget = one(manifests, "PodDisruptionBudget", "-socket")
    assert _matches(budget["spec"]["selector"]["matchLabels"], _pod_labels(socket))
    assert budget["spec"]["minAvailable"] >= 1
    # No Service, yet the pods listen for probes and scrapes: a roll-out waits on the new pod's /readyz,
    # which passes only once its WebSocket is open.
    container = containers(socket)[0]
    assert container["ports"] == [{"name": "http", "containerPort": 3000, "protocol": "TCP"}]
    assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert {"name": "PORT", "value": "3000"} in container["env"]
    annotations = socket["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true" and annotations["prometheus.io/port"] == "3000"
    assert "checkov.io/skip1" not in socket["metadata"].get("annotations", {})


def test_socket_probes_and_scrapes_follow_web_port(render: Render) -> None:
    socket = one(render(merge_socket({"web": {"port": 8081}})), "Deployment", "-socket")
    container = containers(socket)[0]
    assert container["ports"][0]["containerPort"] == 8081
    assert {"name": "PORT", "value": "8081"} in container["env"]
    assert socket["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] == "8081"


def test_socket_network_policy_lets_only_the_scraper_in_on_the_http_port(render: Render) -> None:
    manifests = render(merge_socket({"networkPolicy": {"enabled": True}}))
    assert "Service" not in kinds(manifests)
    policy, socket = one(manifests, "NetworkPolicy", "-socket"), one(manifests, "Deployment", "-socket")
    assert policy["spec"]["podSelector"]["matchLabels"] == socket["spec"]["selector"]["matchLabels"]
    (rule,) = policy["spec"]["ingress"]
    assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]
    monitoring = {"kubernetes.io/metadata.name": "monitoring"}  # values.yaml's networkPolicy.metricsFrom
    assert rule["from"] == [{"namespaceSelector": {"matchLabels": monitoring}}]
    closed = render(merge_socket({"networkPolicy": {"enabled": True, "metricsFrom": []}}))
    assert one(closed, "NetworkPolicy", "-socket")["spec"]["ingress"] == []


def test_socket_mode_keeps_its_disruption_budget_even_when_disabled(render: Render) -> None:
    manifests = render(merge_socket({"web": {"podDisruptionBudget": {"enabled": False}}}))
    one(manifests, "PodDisruptionBudget", "-socket")


def merge_socket(extra: dict[str, Any]) -> dict[str, Any]:
    return {**SOCKET, **extra}


def test_each_process_gets_only_the_secrets_it_uses(render: Render) -> None:
    http = render()
    web, worker = (
        containers(one(http, "Deployment", "-web"))[0],
        containers(one(http, "Deployment", "-worker"))[0],
    )
    assert {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"} <= env_names(web)
    assert "SLACK_APP_TOKEN" not in env_names(web)
    assert "SLACK_SIGNING_SECRET" not in env_names(worker) and "SLACK_APP_TOKEN" not in env_names(worker)
    socket = containers(one(render(SOCKET), "Deployment", "-socket"))[0]
    assert "SLACK_APP_TOKEN" in env_names(socket) and "SLACK_SIGNING_SECRET" not in env_names(socket)


def _read_by_the_processes() -> set[str]:
    names: set[str] = set()
    model: type[BaseSettings]
    for model in (Settings, WorkerConfig):
        for field in model.model_fields.values():
            alias = field.validation_alias
            names |= {alias} if isinstance(alias, str) else {str(c) for c in getattr(alias, "choices", ())}
    # Read outside the settings models: logging (bot/commands/serve.py), the port (bot/cli.py),
    # botocore (AWS_STS_REGIONAL_ENDPOINTS), and POD_NAME, which only names the pod in logs.
    return names | {
        "KMS_WHY_LOG_LEVEL",
        "KMS_WHY_LOG_FORMAT",
        "PORT",
        "AWS_STS_REGIONAL_ENDPOINTS",
        "POD_NAME",
    }


@pytest.mark.parametrize("mode", ["http", "socket"])
def test_every_environment_variable_is_one_a_process_reads(render: Render, mode: str) -> None:
    values = {
        "slack": {"mode": mode},
        "aws": {"orgRoleArn": "arn:aws:iam::999988887777:role/org", "externalIdSecret": "ext"},
        "bot": {"approvers": ["U01", "S02"], "channels": ["C03"]},
    }
    known = _read_by_the_processes()
    for deployment in (m for m in render(values) if m["kind"] == "Deployment"):
        names = env_names(containers(deployment)[0])
        assert names - known == set(), deployment["metadata"]["name"]
        assert {"REDIS_URL", "KMS_WHY_READER_ROLE", "KMS_WHY_WRITER_ROLE", "KMS_WHY_APPROVERS"} <= names


def test_approvers_and_channels_are_comma_separated_as_settings_expects(render: Render) -> None:
    worker = containers(one(render({"bot": {"approvers": ["U01", "S02"]}}), "Deployment", "-worker"))[0]
    env = {e["name"]: e.get("value") for e in worker["env"]}
    settings = Settings(KMS_WHY_APPROVERS=env["KMS_WHY_APPROVERS"])
    assert settings.approver_users == {"U01"} and settings.approver_groups == {"S02"}


def test_every_pod_is_hardened(render: Render) -> None:
    manifests = render({"networkPolicy": {"enabled": True}}) + render(SOCKET)
    pods = [m for m in manifests if m["kind"] in ("Deployment", "Pod")]
    assert len(pods) == 6  # web, worker, test pod; socket, worker, test pod
    for pod in pods:
        spec = pod["spec"]["template"]["spec"] if pod["kind"] == "Deployment" else pod["spec"]
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["automountServiceAccountToken"] is False
        tmp_volumes = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["runAsUser"] == 10001
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert mounts.get("/tmp") in tmp_volumes


def test_web_probes_health_and_readiness(render: Render) -> None:
    web = containers(one(render(), "Deployment", "-web"))[0]
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert web["ports"][0]["containerPort"] == 3000
    assert {"name": "PORT", "value": "3000"} in web["env"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"slack": {"mode": "websocket"}}, "mode"),
        ({"web": {"replicaCount": "two"}}, "replicaCount"),
        ({"bot": {"approvers": ["alice"]}}, "approvers"),
        ({"redis": {"url": "localhost:6379"}}, "url"),
        ({"unknownKey": True}, "unknownKey"),
    ],
)
def test_the_schema_rejects_wrong_values(
    helm_template: Attempt, values: dict[str, Any], message: str
) -> None:
    done = helm_template(values)
    assert done.returncode != 0
    assert "schema" in done.stderr and message in done.stderr


@pytest.mark.parametrize(
    ("values", "base", "message"),
    [
        ({"slack": {"mode": "socket"}, "web": {"replicaCount": 1}}, True, "replicaCount"),
        ({"slack": {"mode": "http"}, "redis": {"url": "redis://r:6379/0"}}, False, "slack.existingSecret"),
        ({"slack": {"mode": "http", "existingSecret": "s"}}, False, "redis.url or redis.existingSecret"),
        ({"slack": {"mode": "socket"}, "ingress": {"enabled": True}}, True, "ingress"),
    ],
)
def test_the_chart_refuses_combinations_that_cannot_work(
    helm_template: Attempt, values: dict[str, Any], base: bool, message: str
) -> None:
    done = helm_template(values, base=base)
    assert done.returncode != 0
    assert message in done.stderr


def test_the_dev_secret_is_made_only_when_asked_and_then_used(render: Render) -> None:
    assert "Secret" not in kinds(render())
    dev = {"slack": {"existingSecret": "", "createSecret": True, "botToken": "xoxb-1", "signingSecret": "s3"}}
    manifests = render(dev)
    secret = one(manifests, "Secret")
    assert secret["stringData"] == {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s3"}
    web = one(manifests, "Deployment", "-web")
    refs = {
        e["valueFrom"]["secretKeyRef"]["name"]
        for e in containers(web)[0]["env"]
        if "valueFrom" in e and "secretKeyRef" in e["valueFrom"]
    }
    assert refs == {secret["metadata"]["name"]}
    # A changed token rolls the pods.
    changed = render({**dev, "slack": {**dev["slack"], "botToken": "xoxb-2"}})
    annotation = "checksum/slack-secret"
    assert (
        one(changed, "Deployment", "-web")["spec"]["template"]["metadata"]["annotations"][annotation]
        != web["spec"]["template"]["metadata"]["annotations"][annotation]
    )


def test_redis_url_from_an_existing_secret(render: Render) -> None:
    values = {"redis": {"url": "", "existingSecret": "redis-creds", "existingSecretKey": "url"}}
    worker = containers(one(render(values), "Deployment", "-worker"))[0]
    (redis_url,) = [e for e in worker["env"] if e["name"] == "REDIS_URL"]
    assert redis_url["valueFrom"]["secretKeyRef"] == {"name": "redis-creds", "key": "url"}


def test_hpas_target_their_own_deployment_which_then_leaves_replicas_alone(render: Render) -> None:
    auto = {"enabled": True, "minReplicas": 2, "maxReplicas": 5, "targetCPUUtilizationPercentage": 60}
    manifests = render({"web": {"autoscaling": auto}, "worker": {"autoscaling": auto}})
    for suffix in ("-web", "-worker"):
        hpa, deployment = (
            one(manifests, "HorizontalPodAutoscaler", suffix),
            one(manifests, "Deployment", suffix),
        )
        assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
        assert "replicas" not in deployment["spec"]


def test_network_policies_select_one_component_each_and_allow_only_what_it_needs(render: Render) -> None:
    manifests = render(
        {"networkPolicy": {"enabled": True, "redisTo": [{"ipBlock": {"cidr": "10.0.0.7/32"}}]}}
    )
    for suffix in ("-web", "-worker"):
        policy, deployment = one(manifests, "NetworkPolicy", suffix), one(manifests, "Deployment", suffix)
        assert policy["spec"]["podSelector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
        egress_ports = {p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]}
        assert egress_ports == {53, 6379, 443, 80}  # DNS, Redis, Slack/AWS, the EKS Pod Identity agent
    worker_policy = one(manifests, "NetworkPolicy", "-worker")
    assert all(p["port"] == 9100 for rule in worker_policy["spec"]["ingress"] for p in rule["ports"])


# The probes and the test pod are Python one-liners run inside the image: run them here too. ----------


def _worker_probe(render: Render) -> list[str]:
    worker = containers(one(render(), "Deployment", "-worker"))[0]
    env = {e["name"]: e.get("value") for e in worker["env"]}
    command: list[str] = worker["livenessProbe"]["exec"]["command"]
    assert command[-2] == env["KMS_WHY_HEARTBEAT_FILE"] == WorkerConfig().heartbeat_file
    return command


def test_worker_liveness_passes_on_a_fresh_heartbeat_and_fails_on_a_stale_or_missing_one(
    render: Render, tmp_path: Path
) -> None:
    command = _worker_probe(render)
    heartbeat = tmp_path / "heartbeat"
    probe = [sys.executable, *command[1:-2], str(heartbeat), command[-1]]

    def run() -> int:
        return subprocess.run(probe, capture_output=True, timeout=30, check=False).returncode

    assert run() != 0  # never beat
    heartbeat.touch()
    assert run() == 0
    stale = time.time() - float(command[-1]) - 5
    os.utime(heartbeat, (stale, stale))
    assert run() != 0


class _Health(BaseHTTPRequestHandler):
    ready = True

    def do_GET(self) -> None:
        ok = self.path == "/healthz" or (self.path == "/readyz" and self.ready)
        self.send_response(200 if ok else 503)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    _Health.ready = True


def test_helm_test_pod_calls_healthz_and_readyz(render: Render, health_server: ThreadingHTTPServer) -> None:
    pod = one(render(), "Pod", "-test")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    container = containers(pod)[0]
    assert container["args"][1] == "http://kw-kms-why:80"  # the Service the chart made
    local = f"http://127.0.0.1:{health_server.server_address[1]}"
    probe = [sys.executable, *container["command"][1:], container["args"][0], local]
    assert subprocess.run(probe, capture_output=True, timeout=30, check=False).returncode == 0
    _Health.ready = False
    assert subprocess.run(probe, capture_output=True, timeout=30, check=False).returncode != 0


# NOTES.txt is printed by `helm install`, which needs a cluster; render it as a ConfigMap instead. ------


def _notes(tmp_path: Path, values: dict[str, Any]) -> str:
    chart = tmp_path / "chart"
    shutil.copytree(CHART, chart)
    notes = (chart / "templates" / "NOTES.txt").read_text()
    (chart / "templates" / "_notes.tpl").write_text('{{- define "notes" }}' + notes + "{{- end }}")
    (chart / "templates" / "notes.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: notes}\n"
        'data: {notes: {{ include "notes" . | quote }}}\n'
    )
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump(merge(BASE_VALUES, values)))
    done = subprocess.run(
        [
            str(helm_binary()),
            "template",
            "kms-why",
            str(chart),
            "-n",
            "bots",
            "-f",
            str(path),
            "--show-only",
            "templates/notes.yaml",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return str(yaml.safe_load(done.stdout)["data"]["notes"])


def test_notes_tell_http_installs_where_slack_must_post(tmp_path: Path) -> None:
    values = {
        "ingress": {"enabled": True, "hosts": [{"host": "bot.example.org"}]},
        "serviceAccount": {"annotations": {"eks.amazonaws.com/role-arn": IRSA_ARN}},
    }
    notes = _notes(tmp_path, values)
    assert "https://bot.example.org/slack/events" in notes
    assert f"IRSA role: {IRSA_ARN}" in notes
    assert "nobody can approve" in notes  # bot.approvers is empty
    assert "helm test kms-why -n bots" in notes


def test_notes_tell_socket_installs_about_pod_identity_and_the_dev_secret(tmp_path: Path) -> None:
    values = {
        "slack": {
            "mode": "socket",
            "existingSecret": "",
            "createSecret": True,
            "botToken": "b",
            "appToken": "a",
        },
        "bot": {"approvers": ["U01"]},
    }
    notes = _notes(tmp_path, values)
    assert "Socket Mode" in notes and "/slack/events" not in notes
    assert "create-pod-identity-association" in notes
    assert "WARNING: slack.createSecret=true" in notes
    assert "nobody can approve" not in notes


def test_no_disruption_budget_over_a_single_pod_which_would_block_node_drains(render: Render) -> None:
    manifests = render({"web": {"replicaCount": 1}, "worker": {"replicaCount": 1}})
    assert "PodDisruptionBudget" not in kinds(manifests)
    scaled = render({"worker": {"replicaCount": 1, "autoscaling": {"enabled": True}}})
    assert [m["metadata"]["name"] for m in scaled if m["kind"] == "PodDisruptionBudget"] == [
        "kw-kms-why-web",
        "kw-kms-why-worker",
    ]


def test_the_test_pod_runs_without_the_bots_aws_identity(render: Render) -> None:
    pod = one(render({"serviceAccount": {"annotations": {"eks.amazonaws.com/role-arn": IRSA_ARN}}}), "Pod")
    assert "serviceAccountName" not in pod["spec"]
    assert pod["spec"]["automountServiceAccountToken"] is False
