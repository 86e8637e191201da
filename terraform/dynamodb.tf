# The consumer's shared state, in the tables it expects (it would create them if missing;
# creating them here sets encryption, recovery and TTL, and spares it CreateTable rights):
#   <name>-leases     shard leases and checkpoints (kinesis.lease_table), key lease_key
#   <name>-dedupe     event ids seen (state.table_prefix), key event_id, TTL on `expires`
#   <name>-incidents  incidents and alert state, key fingerprint
#   <name>-outbox     Slack messages waiting or sent, key id
# All on-demand (PAY_PER_REQUEST); the consumer writes them with conditional writes.

locals {
  state_tables = {
    leases    = { key = "lease_key", ttl = null }
    dedupe    = { key = "event_id", ttl = "expires" }
    incidents = { key = "fingerprint", ttl = null }
    outbox    = { key = "id", ttl = null }
  }
}

resource "aws_dynamodb_table" "state" {
  for_each = local.state_tables

  name         = "${var.name}-${each.key}"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = each.value.key

  attribute {
    name = each.value.key
    type = "S"
  }

  dynamic "ttl" {
    for_each = each.value.ttl == null ? [] : [each.value.ttl]
    content {
      attribute_name = ttl.value
      enabled        = true
    }
  }

  point_in_time_recovery {
    enabled = var.dynamodb_point_in_time_recovery
  }

  server_side_encryption {
    enabled = true
  }

  deletion_protection_enabled = true
}
