"""The network core: one attempt loop, one seam, two senders.

``attempts`` (the loop: authorization and renewal, retries, deadlines, telemetry, redaction)
prepares each request once (``prepare``) and hands it across the seam (``sender``: a request
and its ``Bounds`` in, an answer or one of the core's errors out) to a sender: the library's
pool (``pool_sender`` over ``pool``, ``asyncio_conn``, ``trio_conn``, ``h1_parser``) or any
httpx client or transport (``httpx_sender``). ``clients`` makes the httpx clients and picks
the sender; ``failures`` maps what a sender meets; ``proxies`` and ``tls`` read the
environment.
"""
