"""A consumer group's offsets as the broker has them committed: what lag is measured against.

The worker's own read positions say what this process has fetched, not what is done for good, and
after a restart they are empty until the first record comes: the lag gauge then showed the whole
topic. The committed offset is what any owner of the partition resumes from, so high watermark
minus it is the work truly left, whoever measures it and whenever.
"""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError


class GroupOffsets:
    """Reads one group's committed offsets with a short-lived admin connection per call (every
    ``worker.lag_interval_seconds``, 5 s by default: one connection then costs nothing to speak of
    and leaves nothing to close when the worker stops)."""

    def __init__(self, bootstrap_servers: str, group_id: str) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.group_id = group_id

    async def committed(self, topic: str) -> dict[int, int] | None:
        """Partition → next offset to read, for the partitions of ``topic`` the group committed;
        None when the broker cannot be asked right now (no new figure is better than a wrong one)."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers)
        try:
            await admin.start()
            offsets = await admin.list_consumer_group_offsets(self.group_id)
        except KafkaError:
            return None
        finally:
            await admin.close()
        return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic and meta.offset >= 0}
