"""The KMS policy-evaluation engine (pure: no I/O, no boto3/redis/slack)."""
