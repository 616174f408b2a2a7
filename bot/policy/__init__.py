"""The KMS policy-evaluation engine (pure: no I/O, no boto3/redis/slack).

Public surface: `evaluate(doc: SimulationDocument) -> SimulationResult` and `PolicyError` (a
`UserError` whose message names the policy and statement). The document and result models live in
`bot.policy.simulation`; the rules each module follows are in its docstring, by kms-evaluation.md §.
"""

from bot.policy.document import PolicyError
from bot.policy.evaluate import evaluate

__all__ = ["PolicyError", "evaluate"]
