# The stream between the halves: Fluent Bit's kinesis_streams output puts the alertable
# events, the consumer replicas read them (shard leases in DynamoDB).

resource "aws_kinesis_stream" "events" {
  name             = "${var.name}-events"
  shard_count      = var.kinesis_shard_count > 0 ? var.kinesis_shard_count : null
  retention_period = var.kinesis_retention_hours

  encryption_type = "KMS"
  kms_key_id      = "alias/aws/kinesis"

  stream_mode_details {
    stream_mode = var.kinesis_shard_count > 0 ? "PROVISIONED" : "ON_DEMAND"
  }

  shard_level_metrics = ["IncomingRecords", "OutgoingRecords", "IteratorAgeMilliseconds", "ReadProvisionedThroughputExceeded", "WriteProvisionedThroughputExceeded"]
}
