"""Names of AWS services as SDKs and tools print them, mapped to IAM service prefixes, and the API
operations that identify a service when only the operation is named (`when calling the X operation`)."""

from __future__ import annotations

import re

_NAMES: dict[str, str] = {
    "kms": "kms",
    "keymanagementservice": "kms",
    "keymanagement": "kms",
    "s3": "s3",
    "s3control": "s3",
    "secretsmanager": "secretsmanager",
    "sns": "sns",
    "simplenotificationservice": "sns",
    "sqs": "sqs",
    "simplequeueservice": "sqs",
    "lambda": "lambda",
    "logs": "logs",
    "cloudwatchlogs": "logs",
    "cloudwatchlog": "logs",
    "rds": "rds",
    "ec2": "ec2",
    "ebs": "ec2",
    "autoscaling": "autoscaling",
    "ssm": "ssm",
    "simplesystemsmanagement": "ssm",
    "eks": "eks",
    "firehose": "firehose",
    "kinesisfirehose": "firehose",
    "kinesis": "kinesis",
    "codecommit": "codecommit",
    "dynamodb": "dynamodb",
    "dynamodbv2": "dynamodb",
    "sso": "sso",
    "ssoadmin": "sso",
    "identitystore": "identitystore",
    "sts": "sts",
    "securitytokenservice": "sts",
    "glue": "glue",
    "athena": "athena",
    "ecr": "ecr",
    "efs": "elasticfilesystem",
    "elasticfilesystem": "elasticfilesystem",
    "backup": "backup",
    "cloudtrail": "cloudtrail",
    "cloudformation": "cloudformation",
    "sfn": "states",
    "stepfunctions": "states",
    "redshift": "redshift",
    "sagemaker": "sagemaker",
    "elasticache": "elasticache",
    "codebuild": "codebuild",
    "codepipeline": "codepipeline",
    "ses": "ses",
    "sesv2": "ses",
    "simpleemailservice": "ses",
    "acm": "acm",
    "iam": "iam",
    "docdb": "rds",
    "neptune": "rds",
    "opensearch": "es",
    "elasticsearch": "es",
    "eventbridge": "events",
    "cloudwatchevents": "events",
    "timestream": "timestream",
    "memorydb": "memorydb",
    "mq": "mq",
    "msk": "kafka",
    "kafka": "kafka",
}
_STRIP = re.compile(r"[\s_.-]+")


def service_prefix(name: str, *, loose: bool = False) -> str | None:
    """IAM prefix of a service as an SDK names it (`AWSKMS`, `Amazon S3`, `Secrets Manager`, `client-kms`).

    `loose` accepts a longer phrase that starts with the service name (Terraform's `KMS Key`).
    """
    compact = _STRIP.sub("", name).lower()
    for prefix in ("amazon", "aws"):
        if compact.startswith(prefix) and compact[len(prefix) :] in _NAMES:
            compact = compact[len(prefix) :]
    if compact in _NAMES:
        return _NAMES[compact]
    if loose:
        words = name.split()
        for size in range(len(words) - 1, 0, -1):
            found = service_prefix(" ".join(words[:size]))
            if found is not None:
                return found
    return None


KMS_OPERATIONS = frozenset(
    {
        "Decrypt", "Encrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "GenerateMac", "VerifyMac",
        "GenerateRandom", "Sign", "Verify", "GetPublicKey", "DeriveSharedSecret", "CreateGrant",
        "ListGrants", "ListRetirableGrants", "RetireGrant", "RevokeGrant", "DescribeKey", "ListKeys",
        "CreateKey", "ScheduleKeyDeletion", "CancelKeyDeletion", "EnableKey", "DisableKey", "PutKeyPolicy",
        "GetKeyPolicy", "ListKeyPolicies", "EnableKeyRotation", "DisableKeyRotation", "GetKeyRotationStatus",
        "RotateKeyOnDemand", "ListKeyRotations", "ListResourceTags", "ImportKeyMaterial",
        "GetParametersForImport", "DeleteImportedKeyMaterial", "ReplicateKey", "UpdatePrimaryRegion",
        "UpdateKeyDescription", "CreateCustomKeyStore", "ConnectCustomKeyStore",
    }
)  # fmt: skip

_OPERATIONS: dict[str, tuple[str, ...]] = {
    "secretsmanager": (
        "GetSecretValue", "BatchGetSecretValue", "CreateSecret", "PutSecretValue", "UpdateSecret",
        "RotateSecret", "DescribeSecret", "ReplicateSecretToRegions",
    ),
    "s3": (
        "PutObject", "GetObject", "HeadObject", "CopyObject", "CreateMultipartUpload", "UploadPart",
        "UploadPartCopy", "CompleteMultipartUpload", "SelectObjectContent", "RestoreObject",
        "PutBucketEncryption", "GetObjectAttributes",
    ),
    "sns": ("Publish", "PublishBatch", "CreateTopic", "SetTopicAttributes"),
    "sqs": ("SendMessage", "SendMessageBatch", "ReceiveMessage", "CreateQueue", "SetQueueAttributes"),
    "lambda": (
        "Invoke", "InvokeAsync", "InvokeWithResponseStream", "CreateFunction", "UpdateFunctionConfiguration",
        "UpdateFunctionCode", "PublishVersion", "GetFunction",
    ),
    "logs": (
        "CreateLogGroup", "AssociateKmsKey", "DisassociateKmsKey", "PutLogEvents", "CreateLogStream",
        "StartQuery", "GetLogEvents", "FilterLogEvents", "PutDataProtectionPolicy",
    ),
    "rds": (
        "CreateDBInstance", "CreateDBCluster", "RestoreDBInstanceFromDBSnapshot",
        "RestoreDBClusterFromSnapshot",
        "CopyDBSnapshot", "CopyDBClusterSnapshot", "CreateDBInstanceReadReplica", "ModifyDBInstance",
        "StartDBInstance", "StartDBCluster", "CreateDBSnapshot", "CreateDBClusterSnapshot",
        "RestoreDBInstanceToPointInTime", "RestoreDBClusterToPointInTime", "StartExportTask",
    ),
    "ec2": (
        "RunInstances", "StartInstances", "CreateVolume", "AttachVolume", "CopySnapshot", "CopyImage",
        "CreateSnapshot", "CreateImage", "RegisterImage", "ModifyEbsDefaultKmsKeyId",
        "CreateReplaceRootVolumeTask",
    ),
    "ssm": ("GetParameter", "GetParameters", "GetParametersByPath", "PutParameter", "StartSession"),
    "eks": ("AssociateEncryptionConfig",),
    "firehose": ("PutRecordBatch", "CreateDeliveryStream", "StartDeliveryStreamEncryption"),
    "kinesis": ("PutRecords", "GetRecords", "StartStreamEncryption"),
    "dynamodb": (
        "PutItem", "GetItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem", "BatchWriteItem",
        "TransactWriteItems", "TransactGetItems", "CreateTable", "UpdateTable", "RestoreTableFromBackup",
    ),
    "codecommit": ("GetFile", "PutFile", "GetBlob", "CreateCommit", "GetFolder", "CreateRepository"),
    "autoscaling": ("CreateAutoScalingGroup", "UpdateAutoScalingGroup", "SetDesiredCapacity"),
    "identitystore": (
        "ListUsers", "ListGroups", "DescribeUser", "DescribeGroup", "CreateUser", "CreateGroup",
        "CreateGroupMembership", "ListGroupMemberships", "GetUserId", "GetGroupId",
    ),
    "sso": (
        "CreatePermissionSet", "ProvisionPermissionSet", "CreateAccountAssignment",
        "CreateApplicationAssignment", "CreateApplication", "ListApplications",
    ),
}  # fmt: skip
_OPERATION_SERVICE = {operation: service for service, ops in _OPERATIONS.items() for operation in ops}


def operation_service(operation: str) -> str | None:
    """The service an API operation belongs to, when the name belongs to one service only."""
    if operation in KMS_OPERATIONS:
        return "kms"
    return _OPERATION_SERVICE.get(operation)
