"""Ctrl-C during a batch on trio reaches the caller as KeyboardInterrupt, not an exception group.

On asyncio the event loop itself re-raises a KeyboardInterrupt from any task (it would end the
test session), so these run on trio only.
"""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

from globus_runs import RunRequest
from globus_runs.testing import FakeGlobus

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "trio"


class InterruptedAuthorizer:
    """Gives the fake's token, but is interrupted (as by Ctrl-C) on its ``at``-th use."""

    def __init__(self, token: str, at: int) -> None:
        self.token = token
        self.at = at
        self.calls = 0

    async def get_authorization_header(self, resource_server: str) -> str | None:
        self.calls += 1
        if self.calls == self.at:
            raise KeyboardInterrupt
        await anyio.lowlevel.checkpoint()
        return f"Bearer {self.token}"

    async def handle_unauthorized(self, resource_server: str, rejected_header: str | None) -> bool:
        return False


async def test_ctrl_c_during_a_batch_is_a_bare_keyboard_interrupt() -> None:
    fake = FakeGlobus()
    flow_id = fake.add_flow()
    authorizer = InterruptedAuthorizer(fake.token, at=3)
    async with fake.flows_client(authorizer=authorizer) as flows:
        with pytest.raises(KeyboardInterrupt) as info:
            await flows.batch_run_flows(
                [RunRequest(flow_id, {"i": i}) for i in range(10)], concurrency=2
            )
    assert type(info.value) is KeyboardInterrupt
    assert authorizer.calls == 3


async def test_ctrl_c_during_a_streaming_batch_is_a_bare_keyboard_interrupt() -> None:
    fake = FakeGlobus()
    flow_id = fake.add_flow()
    authorizer = InterruptedAuthorizer(fake.token, at=3)
    seen: list[int] = []
    async with fake.flows_client(authorizer=authorizer) as flows:
        with pytest.raises(KeyboardInterrupt) as info:
            requests = (RunRequest(flow_id, {"i": i}) for i in range(10))
            async with flows.stream_run_flows(requests, concurrency=2) as results:
                async for result in results:
                    seen.append(result.index)
    assert type(info.value) is KeyboardInterrupt
    assert set(seen) <= {0, 1}  # the third start was interrupted: nothing after it
