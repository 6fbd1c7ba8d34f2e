"""Benchmarks: webhook ack latency under load, and the cost of one backup as a channel grows.

Run from the repository root: `python -m bench.webhook_ack`, `python -m bench.backup_cost`
(`make bench` runs both). Figures go to `bench/results/<name>.json`.
"""
