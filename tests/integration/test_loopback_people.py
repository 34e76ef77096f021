"""Runs that wait for a person, over real sockets against the served emulator's sample flows."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from globus_runs import (
    FlowsClient,
    RunInactiveError,
    RunNeedsConsentEvent,
    RunStatus,
    RunStatusEvent,
    RunWaitingForInputEvent,
)

pytestmark = pytest.mark.anyio


def _client(served: dict[str, Any]) -> FlowsClient:
    return FlowsClient(authorizer=served["token"], base_url=served["flows_url"])


async def test_watching_a_sample_approval_run_and_answering_it(served: dict[str, Any]) -> None:
    approval = served["flow_ids"][3]
    async with _client(served) as flows:
        run = await flows.run_flow(approval, {}, label="loopback approval")
        waits: list[RunWaitingForInputEvent] = []
        final = None
        with anyio.fail_after(30):
            async for event in flows.watch_run(run.run_id, poll_interval=0.05):
                if isinstance(event, RunWaitingForInputEvent):
                    waits.append(event)
                    assert event.web_input is not None
                    approve = event.web_input.options[0]
                    assert approve.label == "Approve"
                    await flows.respond_to_web_input(event.web_input_id, approve.option_id)
                elif isinstance(event, RunStatusEvent):
                    final = event.status
        assert len(waits) == 1
        assert waits[0].title == "Approve this sample run?"
        assert final == RunStatus.SUCCEEDED
        listing = await flows.list_web_inputs(
            filter_run_ids=run.run_id, filter_states=["open", "closed"]
        )
        [summary] = listing.web_inputs
        assert (summary.id, summary.status) == (waits[0].web_input_id, "closed")


async def test_a_sample_consent_run_pauses_with_its_reason_and_stays_paused(
    served: dict[str, Any],
) -> None:
    consent = served["flow_ids"][4]
    async with _client(served) as flows:
        run = await flows.run_flow(consent, {}, label="loopback consent")
        with anyio.fail_after(30), pytest.raises(RunInactiveError) as caught:
            await flows.wait_for_run(run.run_id, poll_interval=0.05, on_inactive="raise")
        reason = caught.value.reason
        assert reason is not None
        assert reason.code == "ConsentRequired"
        assert reason.required_scopes == (
            f"https://auth.globus.org/scopes/{consent}/flow_{consent.replace('-', '_')}_user",
        )
        [result] = await flows.batch_resume_runs([caught.value.run])
        assert result.unwrap().status == RunStatus.INACTIVE  # nobody consented

        events = flows.watch_run(run.run_id, poll_interval=0.05, include_logs=False)
        first, second = await events.__anext__(), await events.__anext__()
        assert isinstance(first, RunStatusEvent)
        assert isinstance(second, RunNeedsConsentEvent)
        assert second.required_scopes == reason.required_scopes
