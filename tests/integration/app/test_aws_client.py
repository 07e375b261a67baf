"""The EC2 client factory: the configured backend, Region, timeouts and attempts."""

from __future__ import annotations

import pytest

from pools.aws import ec2_client, reset_clients, worker_patience
from pools.aws.client import FIRST_RETRY_BACKOFF, client_config


def test_embedded_backend_talks_to_the_local_endpoint(sim):
    sim.call("CreateIpam", Description="here")

    ipams = ec2_client().describe_ipams()["Ipams"]

    assert [i["Description"] for i in ipams] == ["here"]
    assert ec2_client() is ec2_client()


def test_aws_backend_uses_boto3s_own_configuration(settings, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_EC2", "http://127.0.0.1:4510")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    settings.IPAM_BACKEND = "aws"
    settings.IPAM_REGION = "eu-west-1"
    reset_clients()

    client = ec2_client()

    assert client.meta.endpoint_url == "http://127.0.0.1:4510"
    assert client.meta.region_name == "eu-west-1"


def test_clients_are_kept_per_backend_and_region(settings):
    first = ec2_client()
    settings.IPAM_REGION = "us-west-2"

    other = ec2_client()

    assert other is not first
    assert other.meta.region_name == "us-west-2"


@pytest.mark.parametrize("attempts", [1, 4])
def test_a_tasks_client_config(settings, attempts):
    settings.IPAM_MAX_ATTEMPTS = attempts
    settings.IPAM_CONNECT_TIMEOUT = 2.5
    settings.IPAM_READ_TIMEOUT = 9

    config = client_config(patient=True)

    assert config.retries == {"mode": "standard", "total_max_attempts": attempts}
    assert (config.connect_timeout, config.read_timeout) == (2.5, 9)
    assert config.region_name == settings.IPAM_REGION


@pytest.mark.parametrize("budget", [4, 10, 25])
def test_a_request_waits_on_aws_no_longer_than_its_budget(settings, budget):
    settings.IPAM_REQUEST_BUDGET = budget

    config = client_config()

    attempts = config.retries["total_max_attempts"]
    worst = attempts * (config.connect_timeout + config.read_timeout) + FIRST_RETRY_BACKOFF
    assert attempts == 2
    assert worst <= budget


def test_tasks_get_their_own_patient_client():
    with worker_patience():
        patient = ec2_client()
    assert ec2_client() is not patient
    assert patient.meta.config.read_timeout > ec2_client().meta.config.read_timeout
