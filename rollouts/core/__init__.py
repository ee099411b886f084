"""Pure decisions: plain data and `now` in, a value out.

No I/O, no clock, no logging, no asyncio, no kopf/kubernetes/httpx. Decisions return reasons (for conditions,
Events and logs) rather than logging them. Everything here is table-tested and property-tested.
"""
