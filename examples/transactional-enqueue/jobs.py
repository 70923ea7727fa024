"""Job classes live in a module the workers import."""

from sidequest import Job


class SendReceipt(Job):
    async def run(self, order_id: int) -> str:
        self.logger.info("sending the receipt of order %s", order_id)
        return f"receipt for order {order_id}"
