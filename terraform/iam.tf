# Who may do what. IRSA roles, each assumable only by its Kubernetes service account:
# Fluent Bit puts records into the stream and the delivery stream; the consumer reads the
# stream, uses the state table, writes dead letters and reads its secret. Firehose's own
# role writes to S3 and OpenSearch (through network interfaces in the VPC).

data "aws_iam_policy_document" "irsa_trust" {
  for_each = {
    fluent_bit = var.fluent_bit_service_account
    consumer   = var.consumer_service_account
  }

  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [module.eks.oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${module.eks.oidc_provider}:sub"
      values   = ["system:serviceaccount:${var.k8s_namespace}:${each.value}"]
    }
    condition {
      test     = "StringEquals"
      variable = "${module.eks.oidc_provider}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

# --- Fluent Bit --------------------------------------------------------------------------

resource "aws_iam_role" "fluent_bit" {
  name               = "${var.name}-fluent-bit"
  assume_role_policy = data.aws_iam_policy_document.irsa_trust["fluent_bit"].json
}

data "aws_iam_policy_document" "fluent_bit" {
  statement {
    sid       = "AlertableEventsToTheStream"
    actions   = ["kinesis:PutRecords", "kinesis:PutRecord", "kinesis:DescribeStreamSummary"]
    resources = [aws_kinesis_stream.events.arn]
  }
  statement {
    sid       = "EveryEventToTheArchive"
    actions   = ["firehose:PutRecordBatch", "firehose:PutRecord", "firehose:DescribeDeliveryStream"]
    resources = [aws_kinesis_firehose_delivery_stream.archive.arn]
  }
}

resource "aws_iam_role_policy" "fluent_bit" {
  name   = "cali-fluent-bit"
  role   = aws_iam_role.fluent_bit.id
  policy = data.aws_iam_policy_document.fluent_bit.json
}

# --- consumer ----------------------------------------------------------------------------

resource "aws_iam_role" "consumer" {
  name               = "${var.name}-consumer"
  assume_role_policy = data.aws_iam_policy_document.irsa_trust["consumer"].json
}

data "aws_iam_policy_document" "consumer" {
  statement {
    sid = "ReadTheStream"
    actions = [
      "kinesis:DescribeStream",
      "kinesis:DescribeStreamSummary",
      "kinesis:ListShards",
      "kinesis:GetShardIterator",
      "kinesis:GetRecords",
    ]
    resources = [aws_kinesis_stream.events.arn]
  }
  statement {
    sid = "SharedState"
    actions = [
      "dynamodb:DescribeTable",
      # The consumer creates a missing table on first start; these exist already, but a
      # recreated one does not then fail on permissions.
      "dynamodb:CreateTable",
      "dynamodb:GetItem",
      "dynamodb:BatchGetItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
      "dynamodb:DeleteItem",
      "dynamodb:BatchWriteItem",
      "dynamodb:ConditionCheckItem",
      # Used through TransactWriteItems (each item's own action is authorized).
      "dynamodb:Query",
      "dynamodb:Scan",
    ]
    resources = [for t in aws_dynamodb_table.state : t.arn]
  }
  statement {
    sid       = "DeadLetters"
    actions   = ["s3:PutObject", "s3:GetObject"]
    resources = ["${aws_s3_bucket.dead_letters.arn}/${local.dead_letter_prefix}*"]
  }
  statement {
    sid       = "ListDeadLetters"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.dead_letters.arn]
  }
  statement {
    sid       = "Secrets"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [aws_secretsmanager_secret.consumer.arn]
  }
}

resource "aws_iam_role_policy" "consumer" {
  name   = "cali-consumer"
  role   = aws_iam_role.consumer.id
  policy = data.aws_iam_policy_document.consumer.json
}

# --- Firehose ----------------------------------------------------------------------------

data "aws_iam_policy_document" "firehose_trust" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["firehose.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "sts:ExternalId"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "firehose" {
  name               = "${var.name}-firehose"
  assume_role_policy = data.aws_iam_policy_document.firehose_trust.json
}

data "aws_iam_policy_document" "firehose" {
  statement {
    sid = "Archive"
    actions = [
      "s3:AbortMultipartUpload",
      "s3:GetBucketLocation",
      "s3:GetObject",
      "s3:ListBucket",
      "s3:ListBucketMultipartUploads",
      "s3:PutObject",
    ]
    resources = [aws_s3_bucket.archive.arn, "${aws_s3_bucket.archive.arn}/*"]
  }
  statement {
    sid = "Index"
    actions = [
      "es:DescribeDomain",
      "es:DescribeDomains",
      "es:DescribeDomainConfig",
      "es:ESHttpPost",
      "es:ESHttpPut",
      "es:ESHttpGet",
    ]
    resources = [aws_opensearch_domain.events.arn, "${aws_opensearch_domain.events.arn}/*"]
  }
  statement {
    sid = "DeliverInsideTheVpc"
    actions = [
      "ec2:DescribeVpcs",
      "ec2:DescribeVpcAttribute",
      "ec2:DescribeSubnets",
      "ec2:DescribeSecurityGroups",
      "ec2:DescribeNetworkInterfaces",
      "ec2:DescribeDhcpOptions",
      "ec2:CreateNetworkInterface",
      "ec2:CreateNetworkInterfacePermission",
      "ec2:DeleteNetworkInterface",
    ]
    resources = ["*"]
  }
  statement {
    sid       = "DeliveryErrors"
    actions   = ["logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.firehose.arn}:*"]
  }
}

resource "aws_iam_role_policy" "firehose" {
  name   = "cali-firehose"
  role   = aws_iam_role.firehose.id
  policy = data.aws_iam_policy_document.firehose.json
}
