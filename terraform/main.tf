# CALI's AWS infrastructure: the network and EKS cluster it runs in, the Kinesis stream
# between Fluent Bit and the consumer, the Firehose archive (S3 + OpenSearch), the consumer's
# state (DynamoDB), dead letters (S3), secrets and image repositories. See docs/deploy.md.

provider "aws" {
  region = var.region

  default_tags {
    tags = var.tags
  }
}

data "aws_caller_identity" "current" {}

data "aws_availability_zones" "available" {
  state = "available"
}

locals {
  azs          = slice(data.aws_availability_zones.available.names, 0, 3)
  cluster_name = var.name
  account_id   = data.aws_caller_identity.current.account_id
  # Bucket names are global: the account id keeps them unique.
  archive_bucket     = "${var.name}-archive-${local.account_id}"
  dead_letter_bucket = "${var.name}-dead-letters-${local.account_id}"
  dead_letter_prefix = "dead-letters/"
}
