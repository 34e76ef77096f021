"""FlowsClient over real sockets against the served emulator (uvicorn on 127.0.0.1)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from globus_runs import (
    AuthenticationError,
    FlowNotFoundError,
    FlowsClient,
    RunNotFoundError,
    RunStatus,
)

pytestmark = pytest.mark.anyio


def _client(served: dict[str, Any], **options: Any) -> FlowsClient:
    return FlowsClient(authorizer=served["token"], base_url=served["flows_url"], **options)


def test_the_server_announces_loopback_urls_a_token_and_sample_flows(
    served: dict[str, Any],
) -> None:
    for key in ("flows_url", "timers_url", "auth_url"):
        assert urlsplit(served[key]).hostname == "127.0.0.1"
    assert served["token"]
    assert len(served["flow_ids"]) >= 3


async def test_start_list_read_logs_and_cancel_over_sockets(served: dict[str, Any]) -> None:
    succeeds, fails, goes_inactive = served["flow_ids"][:3]
    async with _client(served) as flows:
        ok = await flows.run_flow(succeeds, {"n": 1}, label="loopback ok")
        bad = await flows.run_flow(fails, {}, label="loopback bad")
        paused = await flows.run_flow(goes_inactive, {}, label="loopback paused")

        page = await flows.list_runs(filter_flow_id=[succeeds, fails], per_page=50)
        assert {ok.run_id, bad.run_id} <= {run.run_id for run in page.runs}

        final = await flows.wait_for_run(ok.run_id, poll_interval=0.05, timeout=20)
        assert final.status == RunStatus.SUCCEEDED
        failed = await flows.wait_for_run(bad.run_id, poll_interval=0.05, timeout=20)
        assert failed.status == RunStatus.FAILED
        assert failed.error is not None

        inactive = await flows.wait_for_run(
            paused.run_id, poll_interval=0.05, timeout=20, on_inactive="return"
        )
        assert inactive.status == RunStatus.INACTIVE
        canceled = await flows.cancel_run(paused.run_id)
        assert canceled.was_canceled

        entries = await flows.list_all_run_logs(ok.run_id)
        assert entries[0].code == "FlowStarted"
        assert entries[-1].code == "FlowSucceeded"


async def test_errors_over_sockets(served: dict[str, Any]) -> None:
    async with _client(served) as flows:
        with pytest.raises(RunNotFoundError):
            await flows.get_run("00000000-0000-4000-8000-000000000000")
        with pytest.raises(FlowNotFoundError):
            await flows.run_flow("00000000-0000-4000-8000-000000000000", {})
    async with FlowsClient(authorizer="wrong", base_url=served["flows_url"]) as stranger:
        with pytest.raises(AuthenticationError):
            await stranger.list_runs()
