"""Distributed jobs: Celery workers and beat on Redis (`[jobs] broker`).

The catalog, not the broker, is the record of every job (storage/jobs.py): the broker
only carries a job's idempotency key to a worker, which claims the job in the catalog
before running it. Without a broker none of this is imported and everything runs in
the process that asks (`saksi schedule`, `saksi capture`).
"""
