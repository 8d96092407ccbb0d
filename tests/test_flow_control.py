"""The worker's flow control: resuming flow that runs already must not wipe events in the queues
(the restarted worker that stood idle with its backlog as lag), resuming after a suspension must."""

from __future__ import annotations

import asyncio

from mode.utils.queues import FlowControlQueue

from stream.faust_transport import RecoverySafeFlowControl


def test_resuming_running_flow_keeps_queued_events_and_resuming_suspended_flow_clears_them() -> None:
    async def scenario() -> tuple[int, int]:
        flow = RecoverySafeFlowControl(loop=asyncio.get_running_loop())
        queue: FlowControlQueue = FlowControlQueue(flow_control=flow, clear_on_resume=True)
        queue.put_nowait("fetched before the worker was ready")
        flow.resume()  # flow starts suspended, as in Faust; recovery resumes it while reading tables
        assert queue.qsize() == 0
        queue.put_nowait("fetched while the seek was awaited")
        flow.resume()  # the second resume at the end of recovery
        kept = queue.qsize()
        flow.suspend()  # a rebalance starts: what was fetched before it is read again later
        flow.resume()
        return kept, queue.qsize()

    assert asyncio.run(scenario()) == (1, 0)
