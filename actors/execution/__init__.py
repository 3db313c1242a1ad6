"""Execution clients, one per venue of execution: paper (the fill model), dry_run (record only) and live (the
real-money path: sign, check, send, confirm on the chain). The Executor actor plans, writes intents and hands
each order to its client (client.py has the protocol)."""
