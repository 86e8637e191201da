# OpenSearch domain in the VPC's private subnets: full-text search over every event
# (Dashboards / Grafana). Reached only from inside the VPC (the nodes and Firehose).
# A VPC domain needs the account's OpenSearch service-linked role; in an account that never
# had one, create it first: aws iam create-service-linked-role --aws-service-name opensearchservice.amazonaws.com

resource "aws_security_group" "opensearch" {
  name        = "${var.name}-opensearch"
  description = "HTTPS to the CALI OpenSearch domain from inside the VPC"
  vpc_id      = module.vpc.vpc_id

  ingress {
    description = "HTTPS from the VPC"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = [module.vpc.vpc_cidr_block]
  }

  egress {
    description = "Responses and Firehose's outbound calls"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_opensearch_domain" "events" {
  domain_name    = "${var.name}-events"
  engine_version = var.opensearch_version

  cluster_config {
    instance_type          = var.opensearch_instance_type
    instance_count         = var.opensearch_instance_count
    zone_awareness_enabled = true
    zone_awareness_config {
      availability_zone_count = 3
    }
  }

  ebs_options {
    ebs_enabled = true
    volume_type = "gp3"
    volume_size = var.opensearch_volume_gb
  }

  vpc_options {
    subnet_ids         = module.vpc.private_subnets
    security_group_ids = [aws_security_group.opensearch.id]
  }

  encrypt_at_rest {
    enabled = true
  }

  node_to_node_encryption {
    enabled = true
  }

  domain_endpoint_options {
    enforce_https       = true
    tls_security_policy = "Policy-Min-TLS-1-2-2019-07"
  }

  # Authorization by IAM: the Firehose role writes, principals of this account read.
  access_policies = data.aws_iam_policy_document.opensearch_access.json
}

data "aws_iam_policy_document" "opensearch_access" {
  statement {
    effect    = "Allow"
    actions   = ["es:ESHttp*"]
    resources = ["arn:aws:es:${var.region}:${local.account_id}:domain/${var.name}-events/*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${local.account_id}:root"]
    }
  }
}
