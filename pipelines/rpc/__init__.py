"""RPC client policy: rate limits, endpoint health and failover, backoff, caching. Pure: callers pass `now`."""
