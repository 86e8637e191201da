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
  description = "CALI_KINESIS_STREAM: the stream of alertable events."
  value       = aws_kinesis_stream.events.name
}

output "firehose_stream_name" {
  description = "CALI_FIREHOSE_STREAM: the delivery stream archiving every event."
  value       = aws_kinesis_firehose_delivery_stream.archive.name
}

output "dynamodb_table_name" {
  description = "CALI_DYNAMODB_TABLE: the consumer's shared state."
  value       = aws_dynamodb_table.state.name
}

output "dead_letter_url" {
  description = "CALI_DEAD_LETTER: where the consumer writes records it cannot decode."
  value       = "s3://${aws_s3_bucket.dead_letters.id}/dead-letters/"
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
  description = "Secrets Manager secret with the Slack webhook URL and the LLM API key."
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
