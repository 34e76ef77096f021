"""The telemetry switch and the URLs spans show: no tracer until a provider is configured,
no secret in a URL."""

from __future__ import annotations

import pytest

from globus_runs import configure_telemetry
from globus_runs._telemetry import active_tracer, redact_url
from globus_runs.testing import FakeGlobus

pytestmark = pytest.mark.anyio


async def test_no_tracer_is_active_when_no_provider_is_configured(fake: FakeGlobus) -> None:
    configure_telemetry()  # the defaults, whatever an earlier test in this process chose
    [run_id] = fake.add_runs(fake.add_flow(), 1)
    async with fake.flows_client() as flows:
        await flows.get_run(run_id)

    assert active_tracer() is None


def test_secret_query_values_and_user_info_are_redacted() -> None:
    url = "https://user:pw@auth.example.org/path?code=abc&state=s&access_token=t"

    assert (
        redact_url(url)
        == "https://auth.example.org/path?code=REDACTED&state=s&access_token=REDACTED"
    )
