# The consumer's secrets: one Secrets Manager secret holding JSON
#   {"webhook_url": "https://hooks.slack.com/services/...", "llm_api_key": "..."}
# The consumer reads `webhook_url` itself (slack.webhook_secret_arn =
# CALI_SLACK_WEBHOOK_SECRET_ARN); `llm_api_key` reaches it as CALI_LLM_API_KEY through a
# Kubernetes Secret (k8s/optional/external-secret.yaml). Terraform creates the secret empty
# so the values never enter the Terraform state:
#   aws secretsmanager put-secret-value --secret-id cali/consumer --secret-string '{...}'

resource "aws_secretsmanager_secret" "consumer" {
  name                    = "${var.name}/consumer"
  description             = "CALI consumer: Slack incoming webhook URL (webhook_url) and LLM API key (llm_api_key), JSON"
  recovery_window_in_days = 7
}
