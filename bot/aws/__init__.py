"""Reading (and, for an approved patch, writing) the live AWS accounts: the only AWS code of kms-why.

- `collect.collect(denial, settings, request_id=…, sessions=…)` → `Snapshot` (everything, concurrently)
- `sessions.SessionFactory`: the reader, org and writer roles; one per process keeps analyses warm
- `writer.apply_key_policy` / `writer.read_key_policy`: the writer role's side of an approval
- `actions`: the exact IAM actions each role calls (the role templates are built from them)

Nothing here is imported by the pure core; nothing here creates a client at import.
"""
