"""pool_create and pool_check_permissions against the local endpoint, in-process."""

from __future__ import annotations

import threading

import pytest
from botocore.exceptions import ReadTimeoutError
from django.contrib.auth import get_user_model
from django.db import connection

from pools import mirror, services
from pools.aws import AwsNotAuthorised, AwsRefused, AwsUnavailable, ec2_client
from pools.aws.client import REQUEST_ATTEMPTS
from pools.models import IpamPool, IpamScope, PoolCreation, PoolTag
from pools.services import FirstCidr, new_client_token
from tests.integration.app.conftest import aws_pool, aws_pools, pool_named, spec

pytestmark = pytest.mark.django_db


def test_create_makes_the_pool_in_aws_and_mirrors_its_answer(sim, private_scope, sent):
    user = get_user_model().objects.create_user("engineer")
    source = pool_named("us-west-2")
    token = new_client_token()

    pool = services.pool_create(
        spec=spec(
            private_scope,
            source_pool=source,
            locale="us-west-2",
            description="payments",
            allocation_min_netmask_length=20,
            allocation_max_netmask_length=26,
            allocation_default_netmask_length=24,
            allocation_resource_tags={"team": "payments"},
            tags={"Name": "payments", "cost-centre": "42"},
        ),
        client_token=token,
        user=user,
    )

    assert sent.count("CreateIpamPool") == 1
    in_aws = aws_pool(sim, pool.pool_id)
    pool.refresh_from_db()
    assert pool.scope == private_scope
    assert pool.ipam == private_scope.ipam
    assert pool.source_pool == source
    assert pool.source_pool_aws_id == in_aws["SourceIpamPoolId"] == source.pool_id
    assert pool.depth == in_aws["PoolDepth"] == source.depth + 1
    assert pool.locale == in_aws["Locale"] == "us-west-2"
    assert pool.arn == in_aws["IpamPoolArn"]
    assert pool.description == "payments"
    assert pool.state == "create-in-progress"
    assert pool.name == "payments"
    assert pool.tags == {"Name": "payments", "cost-centre": "42"}
    assert pool.allocation_resource_tags == {"team": "payments"}
    assert (
        pool.allocation_min_netmask_length,
        pool.allocation_max_netmask_length,
        pool.allocation_default_netmask_length,
    ) == (20, 26, 24)
    assert pool.client_token == token
    assert pool.created_by == user
    assert pool.last_synced_at is not None
    assert pool.missing_since is None
    assert set(PoolTag.objects.filter(pool=pool).values_list("key", "value")) == {
        ("Name", "payments"),
        ("cost-centre", "42"),
    }
    creation = PoolCreation.objects.get(client_token=token)
    assert creation.status == PoolCreation.Status.CREATED
    assert creation.pool == pool
    assert creation.created_by == user
    assert creation.request["IpamScopeId"] == private_scope.scope_id


def test_pool_without_locale_is_stored_without_one(sim, private_scope):
    pool = services.pool_create(spec=spec(private_scope), client_token=new_client_token())

    assert aws_pool(sim, pool.pool_id)["Locale"] == "None"
    assert pool.locale == ""
    assert (pool.allocation_min_netmask_length, pool.allocation_max_netmask_length) == (0, 32)
    assert pool.allocation_default_netmask_length is None
    assert pool.created_by is None


def test_token_is_recorded_before_aws_is_called(private_scope, sent):
    token = new_client_token()
    seen = []

    def check(action):
        if action == "CreateIpamPool":
            seen.append(PoolCreation.objects.filter(client_token=token).values("status").first())

    sent.hooks.append(check)

    services.pool_create(spec=spec(private_scope), client_token=token)

    assert seen == [{"status": PoolCreation.Status.PENDING}]


def test_same_token_twice_returns_the_same_pool_and_makes_one(sim, private_scope, sent):
    token = new_client_token()
    before = len(aws_pools(sim))

    first = services.pool_create(spec=spec(private_scope, description="once"), client_token=token)
    second = services.pool_create(spec=spec(private_scope, description="once"), client_token=token)

    assert second == first
    assert len(aws_pools(sim)) == before + 1
    assert sent.count("CreateIpamPool") == 1
    assert IpamPool.objects.filter(client_token=token).count() == 1
    assert PoolCreation.objects.filter(client_token=token).count() == 1


def test_retry_after_a_lost_answer_asks_aws_again_and_gets_the_same_pool(
    sim, private_scope, sent, monkeypatch
):
    """AWS made the pool but the app never saved it: the retry is answered by AWS's idempotency."""
    token = new_client_token()
    before = len(aws_pools(sim))
    save = mirror.save_pool

    def crash(*args, **kwargs):
        raise RuntimeError("the process died")

    monkeypatch.setattr(mirror, "save_pool", crash)
    with pytest.raises(RuntimeError):
        services.pool_create(spec=spec(private_scope), client_token=token)
    assert PoolCreation.objects.get(client_token=token).pool is None
    monkeypatch.setattr(mirror, "save_pool", save)

    pool = services.pool_create(spec=spec(private_scope), client_token=token)

    assert sent.count("CreateIpamPool") == 2
    assert len(aws_pools(sim)) == before + 1
    assert pool.pool_id == aws_pools(sim)[-1]["IpamPoolId"]
    assert PoolCreation.objects.get(client_token=token).pool == pool


def run_in_thread(func):
    """Run ``func`` in another thread (with its own database connection); return its outcome."""
    outcome = {}

    def target():
        try:
            outcome["result"] = func()
        except Exception as exc:
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


@pytest.mark.django_db(transaction=True)
def test_second_submit_while_the_first_is_in_flight_creates_one_pool(sim, private_scope, sent):
    """The second submit arrives, completes, and only then does AWS answer the first."""
    scope = private_scope
    before = len(aws_pools(sim))
    token = new_client_token()
    second = {}

    def submit():
        return services.pool_create(spec=spec(scope, description="twice"), client_token=token)

    def second_submit_during_first(action):
        if action == "CreateIpamPool" and not second:
            second["pool"] = None
            second["pool"] = run_in_thread(submit)

    sent.hooks.append(second_submit_during_first)

    first = submit()

    assert second["pool"].pool_id == first.pool_id
    assert sent.count("CreateIpamPool") == 2
    assert len(aws_pools(sim)) == before + 1
    assert IpamPool.objects.filter(description="twice").count() == 1
    creation = PoolCreation.objects.get(client_token=token)
    assert (creation.status, creation.pool_id) == (PoolCreation.Status.CREATED, first.pk)


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="SQLite's in-memory test database answers 'table is locked' instead of waiting",
)
@pytest.mark.django_db(transaction=True)
def test_double_submit_from_two_threads_at_once_creates_one_pool(sim, private_scope):
    scope = private_scope
    before = len(aws_pools(sim))
    sim.faults.update({"latency": 0.2})  # both requests are in flight at once
    token = new_client_token()
    barrier = threading.Barrier(2)
    results, errors = [], []

    def submit():
        try:
            barrier.wait()
            results.append(
                services.pool_create(spec=spec(scope, description="twice"), client_token=token)
            )
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(results) == 2
    assert results[0].pool_id == results[1].pool_id
    assert len(aws_pools(sim)) == before + 1
    assert IpamPool.objects.filter(description="twice").count() == 1
    creation = PoolCreation.objects.get(client_token=token)
    assert creation.status == PoolCreation.Status.CREATED
    assert creation.pool.pool_id == results[0].pool_id


@pytest.mark.parametrize(
    ("fields", "code", "member"),
    [
        ({"locale": "ap-south-1"}, "InvalidParameterValue", "Locale"),
        (
            {"allocation_min_netmask_length": 28, "allocation_max_netmask_length": 16},
            "InvalidParameterValue",
            "AllocationMinNetmaskLength",
        ),
        (
            {"allocation_max_netmask_length": 40},
            "InvalidParameterValue",
            "AllocationMaxNetmaskLength",
        ),
        ({"tags": {"aws:name": "x"}}, "InvalidParameterValue", "TagSpecifications"),
        (
            {"address_family": "ipv6", "publicly_advertisable": True},
            "InvalidParameterCombination",
            "PubliclyAdvertisable",
        ),
        ({"public_ip_source": "byoip"}, "InvalidParameterCombination", "PublicIpSource"),
    ],
    ids=["locale", "netmask-order", "netmask-range", "tag", "publicly-advertisable", "public-only"],
)
def test_aws_refusal_is_translated_and_nothing_is_saved(sim, private_scope, fields, code, member):
    token = new_client_token()
    before_aws, before_db = len(aws_pools(sim)), IpamPool.objects.count()

    with pytest.raises(AwsRefused) as caught:
        services.pool_create(spec=spec(private_scope, **fields), client_token=token)

    assert caught.value.code == code
    assert caught.value.member == member
    assert (len(aws_pools(sim)), IpamPool.objects.count()) == (before_aws, before_db)
    creation = PoolCreation.objects.get(client_token=token)
    assert creation.status == PoolCreation.Status.REFUSED
    assert creation.error_code == code
    assert creation.pool is None


def test_refusals_about_the_source_pool_and_scope(sim, private_scope):
    ipv6 = pool_named("ula-v6")
    with pytest.raises(AwsRefused) as caught:
        services.pool_create(
            spec=spec(private_scope, source_pool=ipv6), client_token=new_client_token()
        )
    assert (caught.value.code, caught.value.member) == (
        "InvalidParameterCombination",
        "SourceIpamPoolId",
    )

    gone = IpamScope.objects.create(
        scope_id="ipam-scope-00000000000000000",
        ipam=private_scope.ipam,
        scope_type="private",
        state="create-complete",
    )
    with pytest.raises(AwsRefused) as caught:
        services.pool_create(spec=spec(gone), client_token=new_client_token())
    assert caught.value.code == "InvalidIpamScopeId.NotFound"
    assert caught.value.member == "IpamScopeId"


def test_pool_depth_quota(sim, private_scope):
    scope_id = private_scope.scope_id
    parent = None
    for _ in range(10):
        extra = {"SourceIpamPoolId": parent} if parent else {}
        parent = sim.call("CreateIpamPool", IpamScopeId=scope_id, AddressFamily="ipv4", **extra)[
            "IpamPool"
        ]["IpamPoolId"]
    services.pool_refresh(pool=IpamPool(pool_id=parent))
    deepest = IpamPool.objects.get(pool_id=parent)
    assert deepest.depth == 10

    with pytest.raises(AwsRefused) as caught:
        services.pool_create(
            spec=spec(private_scope, source_pool=deepest), client_token=new_client_token()
        )

    assert (caught.value.code, caught.value.member) == ("InvalidParameterValue", "SourceIpamPoolId")


def test_a_refused_token_can_be_used_again_with_corrected_parameters(sim, private_scope):
    token = new_client_token()
    with pytest.raises(AwsRefused):
        services.pool_create(spec=spec(private_scope, locale="ap-south-1"), client_token=token)

    pool = services.pool_create(spec=spec(private_scope, locale="us-east-1"), client_token=token)

    assert pool.locale == "us-east-1"
    creation = PoolCreation.objects.get(client_token=token)
    assert creation.status == PoolCreation.Status.CREATED
    assert creation.request["Locale"] == "us-east-1"
    assert (creation.error_code, creation.error_message) == ("", "")


def test_a_retry_is_pending_again_while_aws_answers(sim, private_scope, sent):
    token = new_client_token()
    sim.faults.update({"unreachable": True})
    with pytest.raises(AwsUnavailable):
        services.pool_create(spec=spec(private_scope), client_token=token)
    sim.faults.update({"unreachable": False})
    seen = []
    sent.hooks.append(
        lambda action: seen.append(PoolCreation.objects.values_list("status", "error_code").get())
    )

    services.pool_create(spec=spec(private_scope), client_token=token)

    assert seen[0] == (PoolCreation.Status.PENDING, "")
    assert PoolCreation.objects.get().status == PoolCreation.Status.CREATED


def test_aws_unreachable_saves_nothing_and_the_same_token_succeeds_later(sim, private_scope, sent):
    token = new_client_token()
    before_aws, before_db = len(aws_pools(sim)), IpamPool.objects.count()
    sim.faults.update({"unreachable": True})

    with pytest.raises(AwsUnavailable) as caught:
        services.pool_create(
            spec=spec(private_scope), client_token=token, first_cidr=FirstCidr(cidr="10.200.0.0/16")
        )

    assert caught.value.retryable
    assert (len(aws_pools(sim)), IpamPool.objects.count()) == (before_aws, before_db)
    creation = PoolCreation.objects.get(client_token=token)
    assert creation.status == PoolCreation.Status.UNREACHABLE
    assert creation.pool is None
    assert creation.first_cidr == "10.200.0.0/16"

    sim.faults.update({"unreachable": False})
    pool = services.pool_create(
        spec=spec(private_scope), client_token=token, first_cidr=FirstCidr(cidr="10.200.0.0/16")
    )

    assert len(aws_pools(sim)) == before_aws + 1
    assert IpamPool.objects.count() == before_db + 1
    creation.refresh_from_db()
    assert (creation.status, creation.pool) == (PoolCreation.Status.CREATED, pool)


def test_throttled_request_is_retried(sim, private_scope, sent):
    sim.faults.update({"throttle_rate": 1.0})

    def stop_throttling(action):
        if sent.count("CreateIpamPool") == 2:
            sim.faults.update({"throttle_rate": 0.0})

    sent.hooks.append(stop_throttling)
    before = len(aws_pools(sim))

    services.pool_create(spec=spec(private_scope), client_token=new_client_token())

    assert sent.count("CreateIpamPool") == 2
    assert len(aws_pools(sim)) == before + 1


def test_throttling_that_persists_is_unavailable(sim, private_scope, sent, settings):
    sim.faults.update({"throttle_rate": 1.0})
    token = new_client_token()

    with pytest.raises(AwsUnavailable) as caught:
        services.pool_create(spec=spec(private_scope), client_token=token)

    assert caught.value.code == "RequestLimitExceeded"
    assert sent.count("CreateIpamPool") == REQUEST_ATTEMPTS  # a web request's budget
    assert PoolCreation.objects.get(client_token=token).status == PoolCreation.Status.UNREACHABLE


def test_concurrent_mutation_limit_is_unavailable_and_not_retried(sim, private_scope, sent):
    sim.faults.update({"mutation_conflict_rate": 1.0})

    with pytest.raises(AwsUnavailable) as caught:
        services.pool_create(spec=spec(private_scope), client_token=new_client_token())

    assert caught.value.code == "ConcurrentMutationLimitExceeded"
    assert sent.count("CreateIpamPool") == 1


def test_not_authorised(sim, private_scope):
    sim.faults.update({"deny": True})
    token = new_client_token()

    with pytest.raises(AwsNotAuthorised) as caught:
        services.pool_create(spec=spec(private_scope), client_token=token)

    assert caught.value.code == "UnauthorizedOperation"
    assert caught.value.member is None
    creation = PoolCreation.objects.get(client_token=token)
    assert (creation.status, creation.error_code) == (
        PoolCreation.Status.REFUSED,
        "UnauthorizedOperation",
    )


def test_dry_run_says_true_when_allowed_and_creates_nothing(sim, private_scope, sent):
    before = len(aws_pools(sim))

    assert services.pool_check_permissions(spec=spec(private_scope, description="probe")) is True

    assert sent.count("CreateIpamPool") == 1
    assert len(aws_pools(sim)) == before
    assert not PoolCreation.objects.exists()


@pytest.mark.parametrize("faults", [{"deny": True}, {"deny_actions": {"CreateIpamPool"}}])
def test_dry_run_raises_not_authorised_when_denied(sim, private_scope, faults):
    sim.faults.update(faults)

    with pytest.raises(AwsNotAuthorised) as caught:
        services.pool_check_permissions(spec=spec(private_scope))

    assert caught.value.code == "UnauthorizedOperation"


def test_dry_run_ignores_denials_of_other_actions(sim, private_scope):
    sim.faults.update({"deny_actions": {"DeleteIpamPool"}})

    assert services.pool_check_permissions(spec=spec(private_scope)) is True


def test_dry_run_when_aws_is_unreachable(sim, private_scope):
    sim.faults.update({"unreachable": True})

    with pytest.raises(AwsUnavailable):
        services.pool_check_permissions(spec=spec(private_scope))


def test_answers_lost_to_read_timeouts_still_make_one_pool(sim, private_scope, settings):
    """AWS creates the pool but every answer is lost; botocore retries, then so does the user."""
    client = ec2_client()
    lose_answers = [True]
    attempts = []

    def create_then_time_out(request, **_):
        body = request.body.decode() if isinstance(request.body, bytes) else request.body
        if "Action=CreateIpamPool" in body and lose_answers[0]:
            attempts.append(body)
            headers = {
                k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()
            }
            sim.handle("POST", "", headers, body.encode())
            raise ReadTimeoutError(endpoint_url=request.url)

    client.meta.events.register_first("before-send.ec2", create_then_time_out)
    token = new_client_token()
    before = len(aws_pools(sim))

    with pytest.raises(AwsUnavailable) as caught:
        services.pool_create(spec=spec(private_scope), client_token=token)

    assert caught.value.code == "Timeout"
    assert len(attempts) == REQUEST_ATTEMPTS
    assert len(aws_pools(sim)) == before + 1
    assert PoolCreation.objects.get(client_token=token).status == PoolCreation.Status.UNREACHABLE
    assert not IpamPool.objects.filter(client_token=token).exists()

    lose_answers[0] = False
    pool = services.pool_create(spec=spec(private_scope), client_token=token)

    assert pool.pool_id == aws_pools(sim)[-1]["IpamPoolId"]
    assert len(aws_pools(sim)) == before + 1
