//! Record sources for the consumer: Kinesis shards under leases, NDJSON files, stdin.
