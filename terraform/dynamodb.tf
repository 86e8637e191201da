# The consumer's shared state: shard leases and checkpoints, seen event ids, incidents,
# alert state and the outbox, in one table (items keyed by pk/sk, conditional writes),
# billed per request. Items with an `expires_at` (epoch seconds) are removed by TTL.

resource "aws_dynamodb_table" "state" {
  name         = "${var.name}-state"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  range_key    = "sk"

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = var.dynamodb_point_in_time_recovery
  }

  server_side_encryption {
    enabled = true
  }

  deletion_protection_enabled = true
}
