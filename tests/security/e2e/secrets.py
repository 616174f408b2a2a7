"""Distinctive credential values for the secrets scan: each one is searched for, verbatim, afterwards."""

BOT_TOKEN = "xoxb-4242424242-SECRETSCAN-b0t70k3nZq"
SIGNING_SECRET = "SECRETSCAN-signing-5ecret-e8c1d2f0a9b7"
AWS_SECRET_ACCESS_KEY = "SECRETSCANawsSecretKey0123456789abcdefXYZ"
AWS_SESSION_TOKEN = "SECRETSCAN-aws-session-token-FwoGZXIvYXdzEJr"

ALL = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
       "AWS_SECRET_ACCESS_KEY": AWS_SECRET_ACCESS_KEY, "AWS_SESSION_TOKEN": AWS_SESSION_TOKEN}
