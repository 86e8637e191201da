# Every knob of CALI's AWS infrastructure, with its default.

variable "region" {
  description = "AWS region for every resource (also AWS_REGION of Fluent Bit and the consumer)."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Prefix of every resource name (cluster, stream, buckets, tables, roles)."
  type        = string
  default     = "cali"
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = { "app.kubernetes.io/part-of" = "cali" }
}

# --- network -----------------------------------------------------------------------------

variable "vpc_cidr" {
  description = "CIDR of the VPC; split into 3 private and 3 public subnets, one of each per AZ."
  type        = string
  default     = "10.40.0.0/16"
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all AZs (cheaper) instead of one per AZ (survives an AZ outage)."
  type        = bool
  default     = false
}

# --- EKS ---------------------------------------------------------------------------------

variable "kubernetes_version" {
  description = "EKS Kubernetes version."
  type        = string
  default     = "1.33"
}

variable "cluster_endpoint_public_access" {
  description = "Whether the EKS API endpoint is reachable from the internet (restricted by cluster_endpoint_public_access_cidrs)."
  type        = bool
  default     = true
}

variable "cluster_endpoint_public_access_cidrs" {
  description = "CIDRs allowed to reach the public EKS API endpoint."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "node_instance_types" {
  description = "Instance types of the managed node group."
  type        = list(string)
  default     = ["m7i.large"]
}

variable "node_min_size" {
  description = "Minimum number of nodes."
  type        = number
  default     = 3
}

variable "node_max_size" {
  description = "Maximum number of nodes."
  type        = number
  default     = 6
}

variable "node_desired_size" {
  description = "Initial number of nodes."
  type        = number
  default     = 3
}

variable "k8s_namespace" {
  description = "Kubernetes namespace of CALI (the IRSA trust policies name its service accounts)."
  type        = string
  default     = "cali"
}

variable "fluent_bit_service_account" {
  description = "Service account of the Fluent Bit DaemonSet (k8s/fluent-bit/serviceaccount.yaml)."
  type        = string
  default     = "fluent-bit"
}

variable "consumer_service_account" {
  description = "Service account of the consumer Deployment (k8s/consumer/serviceaccount.yaml)."
  type        = string
  default     = "cali-consumer"
}

# --- Kinesis -----------------------------------------------------------------------------

variable "kinesis_shard_count" {
  description = "Shards of the alert stream; 0 = on-demand capacity mode (scales by itself, billed per GB)."
  type        = number
  default     = 0
}

variable "kinesis_retention_hours" {
  description = "How long the alert stream keeps records (24..8760): the consumer's replay window."
  type        = number
  default     = 48
}

# --- archive: Firehose, S3, OpenSearch ---------------------------------------------------

variable "archive_retention_days" {
  description = "Days before archived events in S3 expire (moved to Glacier Instant Retrieval after 30 days)."
  type        = number
  default     = 365
}

variable "dead_letter_retention_days" {
  description = "Days before dead-lettered records in S3 expire."
  type        = number
  default     = 30
}

variable "firehose_buffer_seconds" {
  description = "Firehose buffering interval (60..900 s): the delay before events are searchable."
  type        = number
  default     = 60
}

variable "firehose_buffer_mb" {
  description = "Firehose buffering size in MiB (1..100)."
  type        = number
  default     = 5
}

variable "opensearch_version" {
  description = "OpenSearch engine version of the search domain."
  type        = string
  default     = "OpenSearch_2.19"
}

variable "opensearch_instance_type" {
  description = "OpenSearch data node instance type."
  type        = string
  default     = "m7g.large.search"
}

variable "opensearch_instance_count" {
  description = "OpenSearch data nodes (a multiple of 3: one group per AZ)."
  type        = number
  default     = 3
}

variable "opensearch_volume_gb" {
  description = "EBS gp3 volume per OpenSearch data node, in GiB."
  type        = number
  default     = 100
}

variable "opensearch_index" {
  description = "Index (prefix) Firehose writes events to; rotated daily (cali-events-YYYY-MM-DD)."
  type        = string
  default     = "cali-events"
}

# --- consumer state ----------------------------------------------------------------------

variable "dynamodb_point_in_time_recovery" {
  description = "Point-in-time recovery of the consumer's state tables (leases, dedupe, incidents, outbox)."
  type        = bool
  default     = true
}
