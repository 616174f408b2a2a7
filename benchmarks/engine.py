"""How fast the policy engine evaluates simulation documents: evaluations per second.

Run: `.venv/bin/python benchmarks/engine.py [--count N]`. Goal (issue 2): at least 20,000 evaluations per
second on one core for documents of up to 20 statements per policy.

The documents are a seeded, realistic mix: callers in the key's account and in a partner account
(sessions, users, the root user), console-style key policies (admins, users, persistent-resource grants,
root delegation, ViaService and encryption-context conditions, deny guards), one to three identity
policies, and sometimes a permissions boundary, a session policy, SCP and RCP levels, grants and a VPC
endpoint policy. Policies are drawn from pools (as real accounts reuse them), but every document is
validated separately. Validation copies each policy dict but not the Statement list inside it, so
the engine's identity cache finds the compiled policy without serialising it (as for the diagnosis,
which passes the policies it collected again and again); `simulate --jsonl` parses every line afresh
and pays for the content-cache lookup: the "fresh" figures measure that (JSON round trip per document).

Figures printed (each mode measured the way a long run uses it: after a pass that warms its caches):
- engine: "compiled with mypyc" (what `make` installs where a C compiler is at hand, see setup.py) or
  "pure Python";
- in-process, cold: the first pass (compiles every distinct policy once; complete results);
- in-process, NEW requests, explain: 10,000 other requests against the same, already compiled, policy
  pools, with complete results (misses included: what the diagnosis gets);
- in-process, first no-explain pass: the first documents again with `evaluate(doc, explain=False)` (what
  `kms-why simulate` prints), which warms that mode's caches;
- in-process, NEW, no-explain: 10,000 other requests in that mode, the headline; when the engine is
  compiled, the same figure for the pure-Python engine follows (a child process that imports the
  sources, `benchmarks/pure_python.py`);
- in-process, NEW, no-explain, fresh: 2,000 more on JSON round-tripped copies (no shared objects, as in
  `simulate --jsonl`: each policy is found by its content, which costs a serialisation);
- in-process, repeated: the first documents again;
- subprocess: `kms-why simulate --jsonl` over the first documents (so compiling too), wall time including
  start-up, parsing and JSON output, and the child's CPU time after start-up; then the rate of 10,000
  new lines appended to those (the extra child CPU they cost: a long batch once warm).
In-process figures are per second of this process's CPU time (garbage collection included, with
Python's default settings), also scaled to a reference loop (the machine is shared: the scaled figure
is the one to compare across runs). `--instructions` adds a load-independent count: CPU instructions
per new-request evaluation under valgrind (callgrind).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import subprocess
import sys
import time
import timeit
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.policy import evaluate  # noqa: E402
from bot.policy.simulation import SimulationDocument  # noqa: E402

OWNER, PARTNER, OTHER = "111122223333", "444455556666", "777788889999"
REGION = "ap-northeast-1"
ACTIONS = [
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:DescribeKey",
    "kms:CreateGrant",
    "kms:ReEncryptFrom",
]
ROLES = ["App", "Batch", "Etl", "Admin", "Reader", "Lambda", "Ingest", "Web"]
VIA = [f"s3.{REGION}.amazonaws.com", f"secretsmanager.{REGION}.amazonaws.com", f"ssm.{REGION}.amazonaws.com"]


def key_arn(account: str, index: int) -> str:
    return f"arn:aws:kms:{REGION}:{account}:key/{index:08d}-aaaa-bbbb-cccc-000000000000"


def stmt(effect: str, action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": effect, "Action": action, "Resource": resource, **extra}


def key_policy(rng: random.Random, account: str) -> dict[str, Any]:
    def role(name: str) -> str:
        return f"arn:aws:iam::{account}:role/{name}"

    statements = [
        stmt("Allow", "kms:*", Principal={"AWS": f"arn:aws:iam::{account}:root"}, Sid="EnableIAM"),
        stmt(
            "Allow",
            [
                "kms:Create*",
                "kms:Describe*",
                "kms:Enable*",
                "kms:List*",
                "kms:Put*",
                "kms:Update*",
                "kms:Revoke*",
                "kms:Disable*",
                "kms:Get*",
                "kms:Delete*",
                "kms:ScheduleKeyDeletion",
            ],
            Principal={"AWS": role("Admin")},
            Sid="KeyAdmins",
        ),
        stmt(
            "Allow",
            ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
            Principal={"AWS": [role(rng.choice(ROLES)), role(rng.choice(ROLES))]},
            Sid="KeyUsers",
        ),
        stmt(
            "Allow",
            ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
            Principal={"AWS": role("App")},
            Condition={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            Sid="Attach",
        ),
    ]
    extra = rng.randint(0, 14)
    for index in range(extra):
        kind = rng.random()
        name = rng.choice(ROLES)
        if kind < 0.3:
            statements.append(
                stmt(
                    "Allow",
                    ["kms:Decrypt", "kms:GenerateDataKey"],
                    Principal={"AWS": role(name)},
                    Condition={"StringEquals": {"kms:ViaService": rng.choice(VIA)}},
                    Sid=f"Via{index}",
                )
            )
        elif kind < 0.5:
            statements.append(
                stmt(
                    "Allow",
                    "kms:Decrypt",
                    Principal={"AWS": f"arn:aws:iam::{PARTNER}:root"},
                    Sid=f"Partner{index}",
                )
            )
        elif kind < 0.65:
            statements.append(
                stmt(
                    "Allow",
                    "kms:Decrypt",
                    Principal="*",
                    Sid=f"Org{index}",
                    Condition={"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}},
                )
            )
        elif kind < 0.8:
            statements.append(
                stmt(
                    "Allow",
                    ["kms:Decrypt", "kms:Encrypt"],
                    Principal={"AWS": role(name)},
                    Sid=f"Ctx{index}",
                    Condition={"StringLike": {"kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::data-*/*"}},
                )
            )
        elif kind < 0.9:
            statements.append(
                stmt(
                    "Deny",
                    "kms:*",
                    Principal="*",
                    Sid=f"Vpce{index}",
                    Condition={
                        "StringNotEqualsIfExists": {"aws:SourceVpce": "vpce-0abc"},
                        "BoolIfExists": {"aws:ViaAWSService": "false"},
                        "ArnNotLike": {"aws:PrincipalArn": f"arn:aws:iam::{account}:role/Admin"},
                    },
                )
            )
        else:
            statements.append(
                stmt("Allow", "kms:Decrypt", Principal={"AWS": "AROAEXAMPLEUNIQUEID1"}, Sid=f"Old{index}")
            )
    return {"Version": "2012-10-17", "Statement": statements}


def identity_policy(rng: random.Random, keys: list[str]) -> dict[str, Any]:
    statements = []
    for index in range(rng.randint(1, 8)):
        kind = rng.random()
        if kind < 0.35:
            statements.append(stmt("Allow", rng.sample(ACTIONS, 3), rng.choice(keys), Sid=f"Kms{index}"))
        elif kind < 0.5:
            statements.append(stmt("Allow", "kms:*", f"arn:aws:kms:*:{rng.choice([OWNER, PARTNER])}:key/*"))
        elif kind < 0.6:
            statements.append(stmt("Allow", "*", "*", Sid="Admin"))
        elif kind < 0.75:
            statements.append(stmt("Allow", ["s3:GetObject", "s3:PutObject"], "arn:aws:s3:::data-*/*"))
        elif kind < 0.85:
            statements.append(
                stmt(
                    "Deny",
                    "kms:*",
                    "*",
                    Sid="TagGuard",
                    Condition={"StringNotEquals": {"aws:ResourceTag/env": "${aws:PrincipalTag/env}"}},
                )
            )
        else:
            statements.append(
                stmt(
                    "Allow",
                    "kms:Decrypt",
                    "*",
                    Condition={"StringEquals": {"kms:ViaService": rng.choice(VIA)}},
                )
            )
    return {"Version": "2012-10-17", "Statement": statements}


def scp_levels(rng: random.Random) -> list[list[dict[str, Any]]]:
    full = {"Version": "2012-10-17", "Statement": [stmt("Allow", "*", Sid="FullAWSAccess")]}
    region: dict[str, Any] = {
        "Version": "2012-10-17",
        "Statement": [
            stmt(
                "Deny",
                "*",
                NotAction=None,
                Sid="RegionLock",
                Condition={"StringNotEquals": {"aws:RequestedRegion": [REGION, "us-east-1"]}},
            )
        ],
    }
    region["Statement"][0].pop("NotAction")
    levels = [[full], [full, region]]
    if rng.random() < 0.5:
        levels.append(
            [
                full,
                {"Version": "2012-10-17", "Statement": [stmt("Deny", "kms:ScheduleKeyDeletion", Sid="Keep")]},
            ]
        )
    return levels


def context(rng: random.Random, account: str) -> dict[str, Any]:
    found: dict[str, Any] = {"aws:RequestedRegion": REGION, "aws:SecureTransport": True}
    if rng.random() < 0.5:
        found["kms:ViaService"] = rng.choice(VIA)
        found["aws:ViaAWSService"] = True
        found["kms:EncryptionContext:aws:s3:arn"] = f"arn:aws:s3:::data-{rng.randint(1, 3)}/obj"
    else:
        found["aws:SourceIp"] = f"10.0.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    if rng.random() < 0.4:
        found["aws:PrincipalOrgID"] = "o-abc123"
    if rng.random() < 0.7:
        found["aws:SourceVpce"] = "vpce-0abc"
    found["aws:PrincipalTag/env"] = "prod"
    found["aws:ResourceTag/env"] = rng.choice(["prod", "prod", "prod", "dev"])
    return found


def documents(count: int, seed: int = 7, requests_seed: int | None = None) -> list[dict[str, Any]]:
    """`count` documents; the policy pools come from `seed`, the requests from `requests_seed`."""
    rng = random.Random(seed)
    keys = [key_arn(OWNER, i) for i in range(20)]
    key_policies = [key_policy(rng, OWNER) for _ in range(40)]
    identities = [identity_policy(rng, keys) for _ in range(80)]
    boundaries = [identity_policy(rng, keys) for _ in range(10)]
    scps = [scp_levels(rng) for _ in range(5)]
    rcp = [
        [
            {
                "Version": "2012-10-17",
                "Statement": [
                    stmt(
                        "Deny",
                        "kms:*",
                        Principal="*",
                        Sid="Perimeter",
                        Condition={
                            "StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-abc123"},
                            "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
                        },
                    )
                ],
            }
        ]
    ]
    rng = random.Random(seed if requests_seed is None else requests_seed)
    out = []
    for _ in range(count):
        account = rng.choice([OWNER, OWNER, OWNER, PARTNER, OTHER])
        kind = rng.random()
        if kind < 0.7:
            principal = (
                f"arn:aws:sts::{account}:assumed-role/{rng.choice(ROLES)}/session-{rng.randint(1, 50)}"
            )
        elif kind < 0.9:
            principal = f"arn:aws:iam::{account}:user/user{rng.randint(1, 5)}"
        else:
            principal = f"arn:aws:iam::{account}:root"
        doc: dict[str, Any] = {
            "request": {
                "principal": principal,
                "action": rng.choice(ACTIONS),
                "resource": rng.choice(keys),
                "context": context(rng, account),
            },
            "identity_policies": rng.sample(identities, rng.randint(1, 3)),
            "key_policy": rng.choice(key_policies),
        }
        if rng.random() < 0.3:
            doc["permissions_boundary"] = rng.choice(boundaries)
        if rng.random() < 0.2 and "assumed-role" in principal:
            doc["session_policy"] = rng.choice(identities)
        if rng.random() < 0.6:
            doc["scps"] = rng.choice(scps)
        if rng.random() < 0.3:
            doc["rcps"] = rcp
        if rng.random() < 0.3:
            doc["grants"] = [
                {
                    "GranteePrincipal": f"arn:aws:iam::{OWNER}:role/{rng.choice(ROLES)}",
                    "Operations": ["Decrypt", "GenerateDataKey"],
                    "GrantId": f"g{rng.randint(1, 9)}",
                }
            ]
        if rng.random() < 0.2:
            doc["vpc_endpoint_policy"] = {"Statement": [stmt("Allow", "kms:*", Principal="*")]}
        if rng.random() < 0.05:
            doc["request"]["unknown_keys"] = ["kms:ViaService"]
        out.append(doc)
    return out


BATCH = 100
# NEW figures are measured over this many times `--count` requests: a full garbage collection walks
# every cache and costs as much as a few thousand evaluations, so one pass of 2,000 can land on
# one or not; over 10,000 the figure includes them at their natural rate.
NEW_PASSES = 5


def rate(raw: list[dict[str, Any]], passes: int = 1, explain: bool = True) -> tuple[float, float]:
    """(evaluations per CPU second of this process, per wall second). Documents are validated in batches
    outside the timed part and dropped after use, so the live heap (which the garbage collector walks)
    is the engine's own, as in a worker or `simulate --jsonl`, not thousands of retained documents."""
    validate = SimulationDocument.model_validate
    cpu = wall = 0.0
    for _ in range(passes):
        for start in range(0, len(raw), BATCH):
            docs = [validate(item) for item in raw[start : start + BATCH]]
            cpu_started, wall_started = time.process_time(), time.perf_counter()
            for doc in docs:
                evaluate(doc, explain)
            cpu += time.process_time() - cpu_started
            wall += time.perf_counter() - wall_started
    count = passes * len(raw)
    return count / cpu, count / wall


def in_process(raw: list[dict[str, Any]], passes: int, upto: str = "") -> dict[str, tuple[float, float]]:
    """Each mode is measured the way a long run uses it: caches warmed by other requests in the same
    mode. cold: first sight (compiles every policy; complete results); new: unseen requests against the
    compiled policies, explaining (what the diagnosis gets); brief-first: the first documents again
    without misses (`evaluate(doc, explain=False)`, what `kms-why simulate` prints), which warms that
    mode's caches; new-brief: unseen requests in that mode (the headline); new-fresh: the same on JSON
    round-tripped copies (no shared objects, as in `simulate --jsonl`); repeated: the first documents
    again. Every pass uses freshly validated documents, so only the engine's caches can hit. Each NEW
    variant gets requests of its own (seeds 8, 9, 10), so none is served by what another computed."""
    count = len(raw)
    steps = [
        ("cold", lambda: rate(raw)),
        ("new", lambda: rate(documents(count * NEW_PASSES, requests_seed=8))),
        ("brief-first", lambda: rate(raw, explain=False)),
        ("new-brief", lambda: rate(documents(count * NEW_PASSES, requests_seed=9), explain=False)),
        ("new-fresh", lambda: rate(_round_tripped(documents(count, requests_seed=10)), explain=False)),
        ("repeated", lambda: rate(raw, passes)),
    ]
    figures: dict[str, tuple[float, float]] = {}
    for name, measure in steps:
        figures[name] = measure()
        if name == upto:
            break
    return figures


def _round_tripped(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [orjson.loads(orjson.dumps(item)) for item in raw]


def through_cli(raw: list[dict[str, Any]]) -> tuple[float, float, float, float]:
    """For `kms-why simulate --jsonl`: (documents per wall second including start-up, start-up seconds,
    documents per child CPU second after start-up) over `raw`, and the rate of a long run once warm: the
    extra child CPU that NEW_PASSES times as many new requests appended to `raw` cost."""
    cli = Path(sys.executable).with_name("kms-why")
    stdin = "".join(json.dumps(item) + "\n" for item in raw)
    extra = documents(len(raw) * NEW_PASSES, requests_seed=11)
    longer = stdin + "".join(json.dumps(item) + "\n" for item in extra)

    def once(text: str) -> tuple[float, float]:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(
            [str(cli), "simulate", "--jsonl"], input=text, capture_output=True, text=True, check=False
        )
        elapsed = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0 or len(done.stdout.splitlines()) != text.count("\n"):
            raise SystemExit(f"kms-why simulate --jsonl failed ({done.returncode}): {done.stderr.strip()}")
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return elapsed, cpu

    startup_wall, startup_cpu = min(once("") for _ in range(3))
    elapsed, cpu = once(stdin)
    _, longer_cpu = once(longer)
    warm = len(extra) / max(longer_cpu - cpu, 1e-9)
    return len(raw) / elapsed, startup_wall, len(raw) / max(cpu - startup_cpu, 1e-9), warm


def reference_microseconds() -> float:
    """This machine's speed right now: CPU µs for `sum(range(1000))` (about 8 µs on an idle modern core)."""
    timer = time.process_time
    return min(timeit.repeat("sum(range(1000))", number=2000, repeat=5, timer=timer)) / 2000 * 1e6


def instructions_per_evaluation(count: int, mode: str) -> float:
    """Load-independent: CPU instructions per new-request evaluation, counted by valgrind (callgrind) as
    the difference between a run that warms up and evaluates `count` new requests and one that only
    warms up (same validation work in both)."""
    totals = []
    for evaluated in (0, count):
        done = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--callgrind-out-file=/dev/null",
                sys.executable,
                __file__,
                "--count",
                str(count),
                "--evaluate-only",
                str(evaluated),
                "--mode",
                mode,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        found = re.search(r"Collected : (\d+)", done.stderr)
        if found is None:
            raise SystemExit(f"valgrind gave no instruction count: {done.stderr[-500:]}")
        totals.append(int(found.group(1)))
    return (totals[1] - totals[0]) / count


def evaluate_only(count: int, evaluated: int, mode: str) -> None:
    """The body measured by `instructions_per_evaluation`: warm up on `count` documents, validate `count`
    new ones, evaluate the first `evaluated` of them. `mode`: explain, brief (explain=False) or fresh
    (explain=False on JSON round-tripped copies, sharing no objects with the warm-up)."""
    explain = mode == "explain"
    for item in documents(count):
        evaluate(SimulationDocument.model_validate(item), explain)
    new = documents(count, requests_seed=8)
    if mode == "fresh":
        new = [orjson.loads(orjson.dumps(item)) for item in new]
    docs = [SimulationDocument.model_validate(item) for item in new]
    for doc in docs[:evaluated]:
        evaluate(doc, explain)


def engine_build() -> str:
    import bot.policy.policies as policies

    return "compiled with mypyc" if str(policies.__file__).endswith(".so") else "pure Python"


def pure_python_headline(count: int) -> tuple[float, float]:
    """(CPU, wall) new no-explain evaluations per second of the pure-Python engine, measured in a child
    process that imports the engine's sources instead of its compiled extensions."""
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "pure_python.py"),
            __file__,
            "--count",
            str(count),
            "--headline",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"pure-Python run failed: {done.stderr.strip()[-500:]}")
    cpu, wall = (float(part) for part in done.stdout.split())
    return cpu, wall


def headline(count: int) -> None:
    """Only the headline pass (after the same warm-up passes as the full run), for `pure_python_headline`."""
    if engine_build() != "pure Python":
        raise SystemExit("expected the pure-Python engine")
    figures = in_process(documents(count), passes=1, upto="new-brief")
    print(*figures["new-brief"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument(
        "--instructions", action="store_true", help="also count instructions per evaluation (valgrind)"
    )
    parser.add_argument("--evaluate-only", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="explain", help=argparse.SUPPRESS)
    parser.add_argument("--headline", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.headline:
        headline(args.count)
        return
    if args.evaluate_only is not None:
        evaluate_only(args.count, args.evaluate_only, args.mode)
        return
    raw = documents(args.count)
    longest = max(len(p["Statement"]) for d in raw for p in [d["key_policy"], *d["identity_policies"]])
    before = reference_microseconds()
    figures = in_process(raw, args.passes)
    tally: dict[str, int] = {}
    for item in raw:
        found = evaluate(SimulationDocument.model_validate(item)).decision
        tally[found] = tally.get(found, 0) + 1
    cli, startup, cli_cpu, cli_warm = through_cli(raw)
    pure = pure_python_headline(args.count) if engine_build() != "pure Python" else None
    reference = (before + reference_microseconds()) / 2
    scale = reference / 8
    print(f"documents: {len(raw)} (up to {longest} statements per policy); decisions: {tally}")
    print(f"engine: {engine_build()}")
    print(f"machine reference: sum(range(1000)) takes {reference:.1f} CPU µs (an idle modern core: ~8 µs)")
    print("evaluations per second of this process's CPU time (wall time in brackets); 'scaled' is the")
    print("CPU figure scaled to an ~8 µs reference core (the load-independent figure reported)")

    def line(name: str, cpu: float, wall: float, goal: str = "") -> None:
        print(f"  {name:<38} {cpu:>8,.0f}/s  (wall {wall:,.0f}/s)  scaled: {cpu * scale:,.0f}/s{goal}")

    line("in-process, cold (compiling):", *figures["cold"])
    line("in-process, NEW requests, explain:", *figures["new"])
    line("in-process, first no-explain pass:", *figures["brief-first"])
    line("in-process, NEW, no-explain (simulate):", *figures["new-brief"], "  <- headline; goal 20,000")
    if pure is not None:
        line("  the same, pure-Python engine:", *pure)
    line("in-process, NEW, no-explain, fresh:", *figures["new-fresh"])
    line("in-process, repeated (warm caches):", *figures["repeated"])
    print(
        f"  kms-why simulate --jsonl:              {cli:>8,.0f}/s wall incl. start-up ({startup:.2f} s);"
        f" {cli_cpu:,.0f}/s of child CPU after start-up (scaled: {cli_cpu * scale:,.0f}/s)"
    )
    print(
        f"  kms-why simulate --jsonl, {len(raw) * NEW_PASSES:,} new lines after those: "
        f"{cli_warm:,.0f}/s of child CPU (scaled: {cli_warm * scale:,.0f}/s)"
    )
    if args.instructions:
        count = min(args.count, 300)
        for mode in ("explain", "brief", "fresh"):
            print(
                f"  instructions per new-request evaluation, {mode} (callgrind, {count} requests): "
                f"{instructions_per_evaluation(count, mode):,.0f}"
            )


if __name__ == "__main__":
    main()
