# What the Kubernetes side needs (k8s/settings.yaml, the service-account annotations, the
# image names) and how to reach the cluster.

output "region" {
  description = "AWS_REGION for Fluent Bit and the consumer."
  value       = var.region
}

output "cluster_name" {
  description = "EKS cluster name: aws eks update-kubeconfig --name <this> --region <region>."
  value       = module.eks.cluster_name
}

output "kinesis_stream_name" {
  description = "CALI_KINESIS_STREAM (Fluent Bit) and CALI_KINESIS_STREAM_NAME (consumer): the stream of alertable events."
  value       = aws_kinesis_stream.events.name
}

output "firehose_stream_name" {
  description = "CALI_FIREHOSE_STREAM: the delivery stream archiving every event."
  value       = aws_kinesis_firehose_delivery_stream.archive.name
}

output "dynamodb_lease_table" {
  description = "CALI_KINESIS_LEASE_TABLE: shard leases and checkpoints."
  value       = aws_dynamodb_table.state["leases"].name
}

output "dynamodb_table_prefix" {
  description = "CALI_STATE_TABLE_PREFIX: prefix of the dedupe, incidents and outbox tables."
  value       = var.name
}

output "dead_letter_bucket" {
  description = "CALI_DEAD_LETTER_BUCKET: where the consumer writes records it cannot decode."
  value       = aws_s3_bucket.dead_letters.id
}

output "dead_letter_prefix" {
  description = "CALI_DEAD_LETTER_PREFIX: key prefix of the dead letters."
  value       = local.dead_letter_prefix
}

output "archive_bucket" {
  description = "S3 bucket with every event (events/YYYY/MM/dd/HH/...)."
  value       = aws_s3_bucket.archive.id
}

output "opensearch_endpoint" {
  description = "HTTPS endpoint of the OpenSearch domain (reachable from inside the VPC)."
  value       = aws_opensearch_domain.events.endpoint
}

output "secret_arn" {
  description = "CALI_SLACK_WEBHOOK_SECRET_ARN: Secrets Manager secret with webhook_url and llm_api_key."
  value       = aws_secretsmanager_secret.consumer.arn
}

output "fluent_bit_role_arn" {
  description = "eks.amazonaws.com/role-arn of the fluent-bit service account."
  value       = aws_iam_role.fluent_bit.arn
}

output "consumer_role_arn" {
  description = "eks.amazonaws.com/role-arn of the cali-consumer service account."
  value       = aws_iam_role.consumer.arn
}

output "ecr_repository_urls" {
  description = "Image repositories: fluent-bit-cali (fluent-bit/Dockerfile) and cali (the consumer)."
  value       = { for name, repo in aws_ecr_repository.this : name => repo.repository_url }
}
