# The archive path: Fluent Bit's kinesis_firehose output puts EVERY event; Firehose indexes
# them into OpenSearch (one index per day) and backs all of them up to S3 (keys prefixed
# events/YYYY/MM/dd/HH/, the UTC arrival hour Firehose adds by itself).

resource "aws_kinesis_firehose_delivery_stream" "archive" {
  name        = "${var.name}-archive"
  destination = "opensearch"

  server_side_encryption {
    enabled  = true
    key_type = "AWS_OWNED_CMK"
  }

  opensearch_configuration {
    domain_arn            = aws_opensearch_domain.events.arn
    role_arn              = aws_iam_role.firehose.arn
    index_name            = var.opensearch_index
    index_rotation_period = "OneDay"
    buffering_interval    = var.firehose_buffer_seconds
    buffering_size        = var.firehose_buffer_mb
    retry_duration        = 300
    s3_backup_mode        = "AllDocuments"

    s3_configuration {
      role_arn            = aws_iam_role.firehose.arn
      bucket_arn          = aws_s3_bucket.archive.arn
      prefix              = "events/"
      error_output_prefix = "errors/"
      buffering_interval  = var.firehose_buffer_seconds
      buffering_size      = var.firehose_buffer_mb
      compression_format  = "GZIP"
    }

    vpc_config {
      subnet_ids         = module.vpc.private_subnets
      security_group_ids = [aws_security_group.opensearch.id]
      role_arn           = aws_iam_role.firehose.arn
    }

    cloudwatch_logging_options {
      enabled         = true
      log_group_name  = aws_cloudwatch_log_group.firehose.name
      log_stream_name = "delivery"
    }
  }

  depends_on = [aws_iam_role_policy.firehose]
}

resource "aws_cloudwatch_log_group" "firehose" {
  name              = "/aws/kinesisfirehose/${var.name}-archive"
  retention_in_days = 30
}

resource "aws_cloudwatch_log_stream" "firehose" {
  name           = "delivery"
  log_group_name = aws_cloudwatch_log_group.firehose.name
}
