"""Bearer tokens, resource servers and who may see or manage a run."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from globus_runs.testing import FakeGlobus

from ._support import ClientFactory, error_of, start_run

pytestmark = pytest.mark.anyio

FLOWS = "flows.globus.org"
RUN_STATUS = "https://auth.globus.org/scopes/eec9b274-0c81-4334-bdc2-54e90e689b9a/run_status"


def flow_scope(flow_id: str) -> str:
    return f"https://auth.globus.org/scopes/{flow_id}/flow_{flow_id.replace('-', '_')}_user"


async def test_a_request_without_a_token_is_401(connect: ClientFactory, payloads: Any) -> None:
    async with connect(None) as client:
        response = await client.get("/runs")
    assert error_of(response) == (401, "AUTHENTICATION_ERROR")
    assert response.json()["error"] == payloads.json("flows_error_401")["error"]


@pytest.mark.parametrize("header", ["Bearer wrong", "test-token", "Basic test-token"])
async def test_an_unknown_token_or_scheme_is_401(
    fake: FakeGlobus, flow_id: str, header: str
) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=fake.app), base_url="http://127.0.0.1/flows"
    ) as client:
        response = await client.post(
            f"/flows/{flow_id}/run", json={"body": {}}, headers={"Authorization": header}
        )
    assert error_of(response) == (401, "AUTHENTICATION_ERROR")


async def test_a_revoked_token_is_401(fake: FakeGlobus, connect: ClientFactory) -> None:
    token = fake.issue_token()
    async with connect(token) as client:
        assert (await client.get("/runs")).status_code == 200
        fake.revoke_token(token)
        assert error_of(await client.get("/runs")) == (401, "AUTHENTICATION_ERROR")


async def test_an_expired_token_is_401(fake: FakeGlobus, connect: ClientFactory) -> None:
    token = fake.issue_token(expires_in=60)
    async with connect(token) as client:
        fake.clock.advance(59)
        assert (await client.get("/runs")).status_code == 200
        fake.clock.advance(1)
        assert error_of(await client.get("/runs")) == (401, "AUTHENTICATION_ERROR")


async def test_starting_a_run_needs_a_token_for_the_flow(
    fake: FakeGlobus, flow_id: str, connect: ClientFactory
) -> None:
    identity = fake.identity_id
    async with connect(fake.issue_token(identity_id=identity, resource_servers={FLOWS})) as c:
        response = await c.post(f"/flows/{flow_id}/run", json={"body": {}})
        assert error_of(response) == (403, "MISSING_SCOPE")
        assert response.json()["error"]["detail"] == (
            f"This action requires the following scope: {flow_scope(flow_id)}"
        )
        response = await c.post(f"/flows/{flow_id}/validate_run", json={"body": {}})
        assert error_of(response) == (403, "MISSING_SCOPE")
    async with connect(fake.issue_token(identity_id=identity, resource_servers={flow_id})) as c:
        run = await start_run(c, flow_id)
    assert run["run_owner"] == f"urn:globus:auth:identity:{identity}"


async def test_other_endpoints_need_a_flows_token(
    fake: FakeGlobus, flow_id: str, connect: ClientFactory
) -> None:
    [run_id] = fake.add_runs(flow_id, 1)
    async with connect(
        fake.issue_token(identity_id=fake.identity_id, resource_servers={flow_id})
    ) as c:
        for method, path in [
            ("GET", "/runs"),
            ("GET", f"/runs/{run_id}"),
            ("PUT", f"/runs/{run_id}"),
            ("GET", f"/runs/{run_id}/log"),
            ("GET", f"/runs/{run_id}/definition"),
            ("POST", f"/runs/{run_id}/cancel"),
            ("POST", f"/runs/{run_id}/release"),
        ]:
            response = await c.request(method, path, json={} if method == "PUT" else None)
            assert error_of(response) == (403, "MISSING_SCOPE"), path
    assert response.json()["error"]["detail"].startswith(
        "This action requires the following scope: https://auth.globus.org/scopes/"
    )


async def test_listing_names_the_run_status_scope(fake: FakeGlobus, connect: ClientFactory) -> None:
    async with connect(fake.issue_token(resource_servers={"elsewhere"})) as client:
        response = await client.get("/runs")
    assert response.json()["error"]["detail"] == (
        f"This action requires the following scope: {RUN_STATUS}"
    )


async def test_resuming_needs_a_token_for_the_runs_flow(
    fake: FakeGlobus, connect: ClientFactory
) -> None:
    flow_id = fake.add_flow(inactive_after=0)
    [run_id] = fake.add_runs(flow_id, 1)
    identity = fake.identity_id
    async with connect(fake.issue_token(identity_id=identity, resource_servers={FLOWS})) as c:
        response = await c.post(f"/runs/{run_id}/resume")
        assert error_of(response) == (403, "MISSING_SCOPE")
        assert flow_scope(flow_id) in response.json()["error"]["detail"]
    async with connect(fake.issue_token(identity_id=identity, resource_servers={flow_id})) as c:
        assert (await c.post(f"/runs/{run_id}/resume")).status_code == 200


async def test_a_run_of_someone_else_is_404(
    fake: FakeGlobus, flow_id: str, connect: ClientFactory
) -> None:
    [run_id] = fake.add_runs(flow_id, 1)
    async with connect(fake.issue_token()) as stranger:
        for method, path in [
            ("GET", f"/runs/{run_id}"),
            ("GET", f"/runs/{run_id}/log"),
            ("GET", f"/runs/{run_id}/definition"),
            ("POST", f"/runs/{run_id}/cancel"),
            ("POST", f"/runs/{run_id}/resume"),
        ]:
            assert error_of(await stranger.request(method, path)) == (404, "NOT_FOUND"), path


async def test_a_monitor_may_read_but_not_manage(
    fake: FakeGlobus, flow_id: str, connect: ClientFactory
) -> None:
    monitor = "00000000-0000-0000-0000-0000000000aa"
    [run_id] = fake.add_runs(flow_id, 1, run_monitors=[f"urn:globus:auth:identity:{monitor}"])
    async with connect(fake.issue_token(identity_id=monitor)) as client:
        run = (await client.get(f"/runs/{run_id}")).json()
        assert (run["user_role"], run["user_roles"]) == ("run_monitor", ["run_monitor"])
        assert (await client.get(f"/runs/{run_id}/log")).status_code == 200
        response = await client.post(f"/runs/{run_id}/cancel")
        assert error_of(response) == (403, "FORBIDDEN")
        response = await client.put(f"/runs/{run_id}", json={"label": "mine"})
        assert error_of(response) == (403, "FORBIDDEN")


async def test_a_run_manager_may_manage(
    fake: FakeGlobus, flow_id: str, connect: ClientFactory
) -> None:
    manager = "00000000-0000-0000-0000-0000000000bb"
    [run_id] = fake.add_runs(flow_id, 1, run_managers=[f"urn:globus:auth:identity:{manager}"])
    async with connect(fake.issue_token(identity_id=manager)) as client:
        response = await client.put(f"/runs/{run_id}", json={"label": "managed"})
        assert response.json()["user_role"] == "run_manager"
        assert (await client.post(f"/runs/{run_id}/cancel")).status_code == 202
